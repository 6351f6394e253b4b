/**
 * Runs an exported package's graphs on WebGPU (tests and GPU-machine probes): weights read from the shards and
 * bound as inputs, the vision-whole graph, embeddings gathered on the host, prefill + greedy decode through the
 * decoder graph on one static KV cache. Compared against Hugging Face fixture cases.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { GpuContext } from '../gpu/gpu-context';
import type { GraphName, PackageManifest } from '../protocol/manifest';
import { WEIGHTS } from '../protocol/weight-names';
import { splitRowCounts, weightRowParts } from '../protocol/weight-parts';
import { type PatchGrid, visionRotaryTables } from '../processor/vision-rotary';
import type { OrtTensor } from '../ort/ort-runtime';
import type { ModelGraph } from '../convert/graphs/graph-builder';
import { fromFloat16Array } from '../convert/quantize/float16';
import { llamaRotaryTables } from '../../export/reference-forward/decoder-reference';
import { imageRanges } from '../../export/reference-forward/vision-reference';
import { packageGraphs } from '../convert/package/package-graphs';
import { readPackageWeight } from '../../export/package/package-reader';
import { GraphHarness, type HostData, type HostTensor } from './graph-harness';

/** KV-cache capacity used by these runs. */
export const MAX_LEN = 512;

export interface Case {
  readonly name: string;
  readonly inputIds: number[];
  readonly grids: [number, number, number][];
  readonly pixelValues?: { shape: [number, number] };
  readonly imageFeatures?: { shape: [number, number] };
  readonly greedy: { tokens: number[]; margins: number[] };
}

export async function loadCase(fixtures: string, name: string): Promise<{ c: Case; pixels: Float32Array | null; features: Float32Array | null; logits: Float32Array }> {
  const dir = join(fixtures, name);
  const c = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8')) as Case;
  const f32 = (bytes: Uint8Array): Float32Array => new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    c,
    pixels: c.pixelValues ? f32(gunzipSync(await readFile(join(dir, 'pixel_values.f32.gz')))) : null,
    features: c.imageFeatures ? f32(await readFile(join(dir, 'image_features.f32'))) : null,
    logits: f32(await readFile(join(dir, 'first_logits.f32'))),
  };
}

export class LoadedPackage {
  private readonly cache = new Map<string, HostData>();
  readonly graphs: Map<GraphName, ModelGraph>;

  constructor(
    readonly dir: string,
    readonly manifest: PackageManifest,
  ) {
    this.graphs = packageGraphs(manifest.model, { precision: manifest.precision, rowParts: splitRowCounts(manifest) });
  }

  async weight(name: string, type: HostTensor['type']): Promise<HostData> {
    let data = this.cache.get(name);
    if (!data) {
      const bytes = await readPackageWeight(this.dir, this.manifest, name);
      data = type === 'float32' ? new Float32Array(bytes.buffer) : type === 'float16' ? new Uint16Array(bytes.buffer) : bytes;
      this.cache.set(name, data);
    }
    return data;
  }

  /** The weight inputs of `graph`, read from the shards. */
  async feeds(graph: GraphName): Promise<Record<string, HostTensor>> {
    const entry = this.manifest.graphs.find((g) => g.name === graph);
    const model = this.graphs.get(graph);
    if (!entry || !model) throw new Error(`no graph ${graph}`);
    const out: Record<string, HostTensor> = {};
    for (const input of model.graph.inputs) {
      const name = entry.weights[input.name];
      if (name === undefined) continue;
      const type = input.type as HostTensor['type'];
      out[input.name] = { type, dims: this.manifest.weights[name]!.shape, data: await this.weight(name, type) };
    }
    return out;
  }

  private readonly sessions = new Map<GraphName, Promise<GraphHarness>>();

  /** One session per graph for all cases (SwiftShader spends most of a first run compiling shaders). */
  session(ctx: GpuContext, graph: GraphName): Promise<GraphHarness> {
    let session = this.sessions.get(graph);
    if (!session) {
      const entry = this.manifest.graphs.find((g) => g.name === graph)!;
      // Run the bytes the package holds, not a rebuilt graph.
      session = readFile(join(this.dir, entry.path)).then((bytes) => GraphHarness.fromBytes(ctx, new Uint8Array(bytes)));
      this.sessions.set(graph, session);
    }
    return session;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
  }
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ type: 'float32', dims, data });

export async function visionWhole(ctx: GpuContext, pkg: LoadedPackage, pixels: Float32Array, grids: PatchGrid[]): Promise<Float32Array> {
  const v = pkg.manifest.model.vision;
  const D = v.embedDim / v.numHeads;
  const n = pixels.length / (v.inChannels * v.temporalPatchSize * v.patchSize ** 2);
  const { cos, sin } = visionRotaryTables(grids, D, v.ropeTheta);
  const bias = new Float32Array(n * n).fill(-1e30);
  for (const { start, end } of imageRanges(grids)) for (let i = start; i < end; i++) bias.fill(0, i * n + start, i * n + end);
  const h = await pkg.session(ctx, 'vision-whole');
  const out = await h.run({ pixel_values: f32([n, pixels.length / n], pixels), rotary_cos: f32([n, D / 2], cos), rotary_sin: f32([n, D / 2], sin), attention_bias: f32([n, n], bias), ...(await pkg.feeds('vision-whole')) });
  return h.readFloat32(out.image_features!);
}

/** Embeddings of `ids` with image features in the `<|file|>` rows (what the engine's gather kernel does). */
export async function embed(pkg: LoadedPackage, ids: number[], features: Float32Array | null): Promise<Float32Array> {
  const t = pkg.manifest.model.text;
  const entry = pkg.manifest.weights[weightRowParts(pkg.manifest, WEIGHTS.embedTokens)[0]!.name]!;
  const raw = await pkg.weight(WEIGHTS.embedTokens, entry.dtype === 'float16' ? 'float16' : 'float32');
  const table = raw instanceof Uint16Array ? fromFloat16Array(raw) : (raw as Float32Array);
  const out = new Float32Array(ids.length * t.hiddenSize);
  let image = 0;
  ids.forEach((id, i) => {
    if (id === pkg.manifest.model.tokens.image && features) out.set(features.subarray(image++ * t.hiddenSize, image * t.hiddenSize), i * t.hiddenSize);
    else out.set(table.subarray(id * t.hiddenSize, (id + 1) * t.hiddenSize), i * t.hiddenSize);
  });
  if (features && image * t.hiddenSize !== features.length) throw new Error(`${image} <|file|> tokens but ${features.length / t.hiddenSize} image features`);
  return out;
}

/** Prefill (in runs of ≤ prefillChunk tokens), then greedy decode steps (S = 1) through the decoder graph on one static KV cache. */
export async function generate(ctx: GpuContext, pkg: LoadedPackage, embeds: Float32Array, steps: number, prefillChunk: number): Promise<{ firstLogits: Float32Array; tokens: number[] }> {
  const t = pkg.manifest.model.text;
  const h = await pkg.session(ctx, 'decoder');
  const { cos, sin } = llamaRotaryTables(MAX_LEN, t.headDim, t.ropeTheta);
  const dims = [1, t.numKvHeads, MAX_LEN, t.headDim];
  const fixed: Record<string, OrtTensor | HostTensor> = { ...(await pkg.feeds('decoder')) };
  fixed.cos_cache = h.tensor(f32([MAX_LEN, t.headDim / 2], cos));
  fixed.sin_cache = h.tensor(f32([MAX_LEN, t.headDim / 2], sin));
  const fetches: Record<string, OrtTensor | null> = { logits: null };
  for (let l = 0; l < t.numLayers; l++) {
    for (const kind of ['key', 'value']) {
      const cache = h.tensor(f32(dims, new Float32Array(dims.reduce((a, b) => a * b))));
      fixed[`past_${kind}.${l}`] = cache;
      fetches[`present_${kind}.${l}`] = cache;
    }
  }
  const tokens: number[] = [];
  let firstLogits: Float32Array = new Float32Array(0);
  let input = embeds;
  let past = 0;
  const table = await embed(pkg, [...Array(t.vocabSize).keys()], null);
  const run = async (rows: Float32Array): Promise<Float32Array> => {
    const S = rows.length / t.hiddenSize;
    const out = await h.run(
      {
        ...fixed,
        inputs_embeds: f32([1, S, t.hiddenSize], rows),
        seqlens_k: { type: 'int32', dims: [1], data: new Int32Array([past + S - 1]) },
        total_sequence_length: { type: 'int32', dims: [], data: new Int32Array([past + S]), cpu: true },
      },
      fetches,
    );
    past += S;
    return h.readFloat32(out.logits!);
  };
  for (let step = 0; step <= steps; step++) {
    const chunk = prefillChunk * t.hiddenSize;
    for (; input.length > chunk; input = input.subarray(chunk)) await run(input.subarray(0, chunk));
    const logits = await run(input);
    if (step === 0) firstLogits = logits;
    if (step === steps) break;
    const next = logits.reduce((best, v, i) => (v > (logits[best] ?? -Infinity) ? i : best), 0);
    tokens.push(next);
    input = table.slice(next * t.hiddenSize, (next + 1) * t.hiddenSize);
  }
  return { firstLogits, tokens };
}

/** How many leading greedy tokens must match: up to and including the first step where HF's top-2 margin is below 0.05. */
export function greedyCheckedSteps(reference: Case['greedy']): number {
  const firstClose = reference.margins.findIndex((m) => m < 0.05);
  return firstClose === -1 ? reference.tokens.length : firstClose + 1;
}

