/**
 * The package's ONNX graphs as onnxruntime-web sessions on our device, with every weight input bound to
 * the GPU buffer that ModelWeights already holds (no weight ever passes through ORT's loader).
 */
import type { GpuContext } from '../gpu/gpu-context';
import type { PackageSource } from '../protocol/package-source';
import { createSession, gpuTensor, loadOrt, type OrtModule, type OrtSession, type OrtTensor } from '../ort/ort-runtime';
import { SarashinaError } from '../protocol/errors';
import type { GraphEntry, GraphName, PackageManifest } from '../protocol/manifest';
import type { ModelWeights } from './model-weights';

export type Feeds = Record<string, OrtTensor>;

export class OrtGraphSet {
  private readonly feedCache = new Map<GraphName, Feeds>();

  private constructor(
    readonly ort: OrtModule,
    private readonly sessions: ReadonlyMap<GraphName, OrtSession>,
    private readonly entries: ReadonlyMap<GraphName, GraphEntry>,
    private readonly weights: ModelWeights,
  ) {}

  /** Creates sessions for the named graphs (all the package has, by default). */
  static async create(ctx: GpuContext, manifest: PackageManifest, source: PackageSource, weights: ModelWeights, names?: readonly GraphName[]): Promise<OrtGraphSet> {
    const ort = await loadOrt();
    const wanted = manifest.graphs.filter((g) => !names || names.includes(g.name));
    const sessions = new Map<GraphName, OrtSession>();
    try {
      for (const g of wanted) sessions.set(g.name, await createSession(ctx, await source.readBytes(g.path)));
    } catch (e) {
      for (const s of sessions.values()) await s.release();
      throw e;
    }
    return new OrtGraphSet(ort, sessions, new Map(wanted.map((g) => [g.name, g])), weights);
  }

  has(graph: GraphName): boolean {
    return this.sessions.has(graph);
  }

  /** The weight inputs of `graph` as GPU tensors (cached). */
  weightFeeds(graph: GraphName): Feeds {
    let feeds = this.feedCache.get(graph);
    if (!feeds) {
      feeds = {};
      for (const [input, name] of Object.entries(this.entry(graph).weights)) {
        const w = this.weights.get(name);
        feeds[input] = gpuTensor(this.ort, w.buffer, w.dtype, w.shape);
      }
      this.feedCache.set(graph, feeds);
    }
    return feeds;
  }

  /** Runs `graph` with activation feeds (weights are added), writing into `fetches` when given. */
  async run(graph: GraphName, feeds: Feeds, options: { fetches?: Record<string, OrtTensor | null> } = {}): Promise<Record<string, OrtTensor>> {
    const session = this.sessions.get(graph);
    if (!session) throw new SarashinaError('internal', `No session for graph ${graph}.`);
    const all = { ...this.weightFeeds(graph), ...feeds };
    return (options.fetches ? session.run(all, options.fetches) : session.run(all)) as Promise<Record<string, OrtTensor>>;
  }

  private entry(graph: GraphName): GraphEntry {
    const e = this.entries.get(graph);
    if (!e) throw new SarashinaError('invalid-model', `The package has no graph ${graph}. Re-export the package.`, { graph });
    return e;
  }

  async dispose(): Promise<void> {
    this.feedCache.clear();
    for (const s of this.sessions.values()) await s.release();
  }
}
