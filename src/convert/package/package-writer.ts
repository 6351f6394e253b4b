/**
 * `writePackage`: everything a package holds except where the weight bytes come from — tokenizer files, graphs,
 * shards, the manifest (validated as the engine will) — written through a PackageSink (a directory, OPFS), checked
 * against the sink's free space before the first byte, re-read and verified after the last, and made complete in
 * one step (`sink.complete()`), so nothing complete-looking is left by a failure or an abort. With a `resumeKey` the
 * sink keeps a journal — at every shard boundary, and after the weight that brings the output written since the
 * last journal to `journalEveryBytes` (1 MiB), with the shard in progress made durable (`SinkFile.checkpoint`) — and
 * a later call with the same key resumes at the next weight, the partial shard cut to its journaled length; the
 * output is byte-identical either way. exportPackage /
 * convertCheckpoint (a checkpoint converted) and writeRandomPackage (weights generated in package form) differ only
 * in their `WeightProducer`.
 */
import { SarashinaError } from '../../protocol/errors';
import {
  type GraphEntry,
  MANIFEST_FILE_NAME,
  MANIFEST_FORMAT_VERSION,
  type PackageFile,
  type PackageManifest,
  parseManifest,
  type ShardRange,
  type Precision,
  type TensorDtype,
  type WeightEntry,
} from '../../protocol/manifest';
import type { ImageProcessorSpec, ModelSpec } from '../../protocol/model-spec';
import { int4BlocksPerRow } from '../../protocol/int4-layout';
import { scalesName } from '../../protocol/weight-names';
import { partName, type WeightSplit } from '../../protocol/weight-parts';
import { encodeOnnxModel } from '../../ort/onnx/onnx-model';
import type { PackageSink, SinkFile, SinkFileState } from '../package-sink';
import { packageGraphs } from './package-graphs';
import { ShardWriter, shardFileName } from './shard-writer';
import { planWeights, plannedEntries, type PlannedWeight } from './weight-plan';

/** 0.3.0: manifest format 3 (weights over the part limit as row parts, `weightSplits`). 0.2.0 wrote format 2. */
export const EXPORTER_VERSION = '0.3.0';
/** Default largest shard: small enough to stream and cache, large enough to keep the file count low. */
export const DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024;
/** The journal's own format (bump when its fields change: an old journal is then thrown away, not misread). */
const JOURNAL_FORMAT = 2;
/**
 * Output written between journals inside a shard (small weights are batched: a journal is a file rewrite). A
 * weight writes whole before the journal names it, so a resume redoes at most the weight in progress.
 */
export const DEFAULT_JOURNAL_EVERY_BYTES = 1024 * 1024;

/** The non-weight content of a package. */
export interface PackageContent {
  readonly spec: ModelSpec;
  readonly imageProcessor: ImageProcessorSpec;
  readonly tokenizerBytes: Uint8Array;
  readonly tokenizerConfigBytes: Uint8Array;
  readonly chatTemplateBytes: Uint8Array | null;
  /** Recorded in the manifest's `exporter.source` (no credentials). */
  readonly source: string;
}

/**
 * Writes the package form of one planned weight through `shards` (begin/write/end per entry) and
 * returns its manifest entries (int4 weights give two: codes and their `scalesName`).
 */
export type WeightProducer = (planned: PlannedWeight, shards: ShardWriter) => Promise<Record<string, WeightEntry>>;

export interface PackageShapeOptions {
  readonly maxShardBytes?: number;
  /**
   * Largest row part of a splittable weight (decoder linears, lm_head, embedding table), default 128 MiB: what
   * every WebGPU adapter can bind. Tests pass a few KiB to split the tiny model's weights.
   */
  readonly maxWeightPartBytes?: number;
}

export interface WritePackageOptions extends PackageShapeOptions {
  readonly precision: Precision;
  readonly accuracyLevel?: number;
  readonly signal?: AbortSignal;
  /** Called after each planned weight is written, or skipped because a resumed conversion had written it. */
  readonly onWeight?: (planned: PlannedWeight, resumed: boolean) => void;
  /**
   * Identity of this conversion (source, revision, options). Given, the sink keeps a journal and a failed or
   * aborted conversion keeps its finished shards for the next call with the same key; a journal with another key
   * is thrown away. Absent (the CLI), any failure deletes what was written.
   */
  readonly resumeKey?: string;
  /** Output bytes between journals inside a shard (default DEFAULT_JOURNAL_EVERY_BYTES; 0: after every weight). */
  readonly journalEveryBytes?: number;
}

export interface ExportResult {
  /** Where the package is (the sink's location: a directory, a store id). */
  readonly outDir: string;
  readonly manifest: PackageManifest;
  /** Bytes of all files written. */
  readonly totalBytes: number;
  /** Planned weights taken over from an interrupted conversion's journal (0 when it started from nothing). */
  readonly resumedWeights: number;
}

/** Checks the options that need no source (shard and part sizes): call it before reading a large source. */
export function checkPackageOptions(options: PackageShapeOptions): void {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (maxShardBytes > 2 ** 31) throw new SarashinaError('invalid-request', `maxShardBytes ${maxShardBytes} is over 2 GB, the largest file a browser handles well. Use at most ${2 ** 31}.`, { maxShardBytes });
  const part = options.maxWeightPartBytes;
  if (part !== undefined && !(Number.isInteger(part) && part > 0)) {
    throw new SarashinaError('invalid-request', `maxWeightPartBytes ${part} is not a positive whole number of bytes. Leave it out for 128 MiB, the binding every WebGPU adapter grants.`, { maxWeightPartBytes: part });
  }
}

/**
 * What an interrupted conversion finished: the weights before `nextWeight`, in `shards` and the first `open.state.
 * sizeBytes` bytes of `open.path`, the shard that was in progress (null: none was).
 */
interface Journal {
  readonly format: number;
  readonly key: string;
  readonly nextWeight: number;
  readonly weights: Record<string, WeightEntry>;
  readonly shards: readonly PackageFile[];
  readonly open: { readonly path: string; readonly state: SinkFileState } | null;
}

/**
 * Bytes the package of `plan` will take, before anything is written: weights (each entry aligned to 16 bytes), the
 * small files already encoded and the manifest (estimated generously).
 */
export function estimatePackageBytes(plan: readonly PlannedWeight[], smallFileBytes: number): number {
  const entries = plan.flatMap((w) => plannedEntries(w));
  const weights = entries.reduce((n, e) => n + Math.ceil(e.sizeBytes / 16) * 16, 0);
  return weights + smallFileBytes + 4096 + entries.length * 512;
}

/** Writes the package of `content` through `sink`, each planned weight from `produce`, in plan order. */
export async function writePackage(content: PackageContent, produce: WeightProducer, sink: PackageSink, options: WritePackageOptions): Promise<ExportResult> {
  checkPackageOptions(options);
  const { spec } = content;
  const key = options.resumeKey;
  const plan = planWeights(spec, options.precision, options);
  // The small files first, in memory: their sizes belong to the estimate checked before the first byte.
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
  const rowParts = new Map(plan.map((w) => [w.name, w.rowParts]));
  const graphFiles = [...packageGraphs(spec, { ...options, rowParts: (weight) => rowParts.get(weight) })].map(([name, model]) => ({ name, model, bytes: encodeOnnxModel(model.graph) }));
  const smallBytes = [content.tokenizerBytes, content.tokenizerConfigBytes, content.chatTemplateBytes ?? new Uint8Array(0), ...graphFiles.map((g) => g.bytes)].reduce((n, b) => n + b.byteLength, 0);

  let journal = key === undefined ? null : parseJournal(await sink.begin(), key, plan.length);
  // The shard in progress continues at its journaled length; lost (shorter than that), everything starts over.
  let reopened: SinkFile | null = null;
  if (journal?.open) {
    reopened = await sink.resumeFile(journal.open.path, journal.open.state).catch(() => null);
    if (!reopened) journal = null;
  }
  if (key === undefined) await sink.begin();
  else if (!journal) {
    // Nothing to resume (or another conversion's leftovers): start from an empty area.
    await sink.discard();
    await sink.begin();
  }
  let written = false;
  const shards = new ShardWriter(sink, options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES, journal?.shards ?? []);
  if (journal?.open && reopened) shards.resumeOpen(journal.open.path, reopened, journal.open.state.sizeBytes);
  try {
    const needed = estimatePackageBytes(plan, smallBytes) - (journal?.shards ?? []).reduce((n, s) => n + s.sizeBytes, 0) - (journal?.open?.state.sizeBytes ?? 0);
    const available = await sink.availableBytes();
    if (available !== null && available < needed) {
      throw new SarashinaError(
        'storage-quota-exceeded',
        `The converted model needs about ${formatBytes(needed)} of storage but only ${formatBytes(available)} is available at ${sink.location}. ` +
          'Free disk space, delete other cached models, or allow persistent storage for this site, then try again.',
        { neededBytes: needed, availableBytes: available },
      );
    }
    written = true;
    const files: PackageFile[] = [];
    const writeSmall = async (path: string, bytes: Uint8Array): Promise<PackageFile> => {
      const file = await sink.createFile(path);
      try {
        await file.write(bytes);
      } catch (e) {
        await file.abort();
        throw e;
      }
      const done = { path, ...(await file.finish()) };
      files.push(done);
      return done;
    };
    const tokenizer = {
      tokenizer: await writeSmall('tokenizer.json', content.tokenizerBytes),
      tokenizerConfig: await writeSmall('tokenizer_config.json', content.tokenizerConfigBytes),
      chatTemplate: content.chatTemplateBytes ? await writeSmall('chat_template.json', content.chatTemplateBytes) : null,
    };
    const graphs: GraphEntry[] = [];
    for (const { name, model, bytes } of graphFiles) {
      const file = await writeSmall(`${name}.onnx`, bytes);
      const signature = (v: { name: string; type: string; shape: readonly (number | string)[] }) => ({ name: v.name, dtype: v.type as TensorDtype, shape: [...v.shape] });
      graphs.push({
        ...file,
        name,
        inputs: model.graph.inputs.filter((i) => !(i.name in model.weights)).map(signature),
        outputs: model.graph.outputs.map(signature),
        weights: model.weights,
      });
    }

    const weights: Record<string, WeightEntry> = { ...(journal?.weights ?? {}) };
    const first = journal?.nextWeight ?? 0;
    for (const planned of plan.slice(0, first)) options.onWeight?.(planned, true);
    const journalEvery = options.journalEveryBytes ?? DEFAULT_JOURNAL_EVERY_BYTES;
    let journaledAt = 0;
    const writeJournal = async (nextWeight: number, open: Journal['open']): Promise<void> => {
      await sink.writeJournal(utf8(JSON.stringify({ format: JOURNAL_FORMAT, key: key ?? '', nextWeight, weights, shards: shards.closedShards, open } satisfies Journal)));
      journaledAt = shards.writtenBytes;
    };
    for (let i = first; i < plan.length; i++) {
      const planned = plan[i] as PlannedWeight;
      if (options.signal?.aborted) throw abortedError(`tensor ${planned.name}`, key !== undefined);
      const atShardBoundary = await shards.startWeight(plannedEntries(planned)[0]?.sizeBytes ?? 0);
      if (key !== undefined && atShardBoundary && i > first) await writeJournal(i, null);
      Object.assign(weights, await produce(planned, shards));
      options.onWeight?.(planned, false);
      if (key !== undefined && i + 1 < plan.length && shards.writtenBytes - journaledAt >= journalEvery) {
        // Null: this sink commits a file only when it closes; the next shard boundary journals instead.
        const at = await shards.checkpoint();
        if (at) await writeJournal(i + 1, at.open);
      }
    }
    if (options.signal?.aborted) throw abortedError('writing the manifest', key !== undefined);
    const manifest: PackageManifest = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      precision: options.precision,
      model: spec,
      imageProcessor: content.imageProcessor,
      tokenizer,
      graphs,
      shards: await shards.finish(),
      weights,
      weightSplits: weightSplits(plan),
      exporter: { name: 'sarashina-webgpu export', version: EXPORTER_VERSION, source: content.source },
    };
    // What we write must pass the same validation the engine applies at load.
    parseManifest(JSON.parse(JSON.stringify(manifest)));
    await writeSmall(MANIFEST_FILE_NAME, utf8(`${JSON.stringify(manifest, null, 1)}\n`));
    await verifyWritten(sink, [...files, ...manifest.shards]);
    await sink.complete();
    const totalBytes = [tokenizer.tokenizer, tokenizer.tokenizerConfig, ...(tokenizer.chatTemplate ? [tokenizer.chatTemplate] : []), ...graphs, ...manifest.shards].reduce((n, f) => n + f.sizeBytes, 0);
    return { outDir: sink.location, manifest, totalBytes, resumedWeights: first };
  } catch (e) {
    await shards.abort();
    const error = isQuotaExceeded(e)
      ? new SarashinaError(
          'storage-quota-exceeded',
          `Storing the converted model at ${sink.location} ran out of space (${String(e)}). What was written was deleted. Free disk space, delete other cached models, or allow persistent storage for this site, then try again.`,
          { location: sink.location },
          { cause: e },
        )
      : e;
    // A resumable conversion keeps its finished shards when another try can continue (network, abort); a broken
    // checkpoint, a full disk or a failed verification starts over.
    const code = (error as { code?: unknown } | null)?.code;
    const keep = key !== undefined && (code === 'aborted' || code === 'download-failed' || !(error instanceof SarashinaError));
    if (written && !keep) await sink.discard().catch(() => undefined);
    throw error;
  }
}

/** Re-reads every file through the sink and compares size and sha256 with what was recorded while writing. */
async function verifyWritten(sink: PackageSink, files: readonly PackageFile[]): Promise<void> {
  for (const f of files) {
    const got = await sink.hashFile(f.path);
    if (!got || got.sizeBytes !== f.sizeBytes || got.sha256 !== f.sha256) {
      throw new SarashinaError(
        'integrity-mismatch',
        `${sink.location}/${f.path} does not read back as written (${got ? `${got.sizeBytes} bytes, sha256 ${got.sha256}` : 'missing'}; wrote ${f.sizeBytes} bytes, sha256 ${f.sha256}). ` +
          'The storage lost or changed data; what was written was deleted. Try again, or free space and check the disk.',
        { path: f.path, expectedSha256: f.sha256, expectedBytes: f.sizeBytes },
      );
    }
  }
}

function parseJournal(bytes: Uint8Array | null, key: string, planLength: number): Journal | null {
  if (!bytes) return null;
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Journal>;
    const ok =
      j.format === JOURNAL_FORMAT &&
      j.key === key &&
      Number.isInteger(j.nextWeight) &&
      (j.nextWeight ?? -1) >= 0 &&
      (j.nextWeight ?? Infinity) <= planLength &&
      typeof j.weights === 'object' &&
      j.weights !== null &&
      Array.isArray(j.shards) &&
      j.shards.every((s: Partial<PackageFile>) => typeof s?.path === 'string' && typeof s.sha256 === 'string' && Number.isInteger(s.sizeBytes)) &&
      (j.open === null ||
        (typeof j.open === 'object' &&
          // The shard in progress is the one after the finished ones (ShardWriter's numbering).
          j.open?.path === shardFileName(j.shards.length) &&
          Number.isInteger(j.open.state?.sizeBytes) &&
          (j.open.state.hashState === undefined || typeof j.open.state.hashState === 'string')));
    return ok ? (j as Journal) : null;
  } catch {
    return null;
  }
}

function abortedError(before: string, kept: boolean): SarashinaError {
  return new SarashinaError(
    'aborted',
    `The conversion was cancelled before ${before}. ${kept ? 'The finished shards are kept: converting the same model again resumes there.' : 'The partial package was removed.'}`,
    { tensor: before },
  );
}

/** A write refused for lack of storage (OPFS throws a DOMException named QuotaExceededError). */
function isQuotaExceeded(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'QuotaExceededError';
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.ceil(n / 1e3)} kB`;
}

/** The manifest's `weightSplits` for `plan`: every weight written as row parts (and an int4 weight's scales). */
export function weightSplits(plan: readonly PlannedWeight[]): Record<string, WeightSplit> {
  const out: Record<string, WeightSplit> = {};
  for (const w of plan) {
    if (w.rowParts.length < 2) continue;
    const rows = w.rowParts.reduce((a, b) => a + b, 0);
    const parts = w.rowParts.map((_, i) => partName(w.name, i));
    out[w.name] = { rows, parts };
    if (w.conversion.kind === 'int4') out[scalesName(w.name)] = { rows, parts: parts.map(scalesName) };
  }
  return out;
}

/** The names its bytes are written under: the weight's own, or its row parts'. */
function partNames(planned: PlannedWeight): string[] {
  return planned.rowParts.length < 2 ? [planned.name] : planned.rowParts.map((_, i) => partName(planned.name, i));
}

/**
 * Writes the row-ordered bytes in `chunks` as consecutive shard entries `names[i]` of `sizes[i]` bytes (a chunk
 * may straddle entries); returns each entry's shard ranges.
 */
async function writeEntries(shards: ShardWriter, names: readonly string[], sizes: readonly number[], chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<ShardRange[][]> {
  const ranges: ShardRange[][] = [];
  let i = 0;
  let left = 0;
  const next = async (): Promise<void> => {
    if (i > 0) ranges.push(shards.end());
    await shards.begin(names[i] ?? '', sizes[i] ?? 0);
    left = sizes[i] ?? 0;
    i++;
  };
  await next();
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.byteLength) {
      if (left === 0) await next();
      const n = Math.min(left, chunk.byteLength - at);
      await shards.write(chunk.subarray(at, at + n));
      at += n;
      left -= n;
    }
  }
  ranges.push(shards.end());
  return ranges;
}

/** Writes a float weight whose package bytes (f32 or f16, row-major, row order) come in `chunks`; one entry per row part. */
export async function writeFloatWeight(shards: ShardWriter, planned: PlannedWeight, dtype: Exclude<WeightEntry['dtype'], 'uint8'>, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Record<string, WeightEntry>> {
  const [, ...tail] = planned.shape;
  const rowBytes = (planned.shape.length === 1 ? (planned.shape[0] ?? 1) : tail.reduce((a, b) => a * b, 1)) * (dtype === 'float32' ? 4 : 2);
  const names = partNames(planned);
  const shapes = planned.rowParts.length < 2 ? [[...planned.shape]] : planned.rowParts.map((rows) => [rows, ...tail]);
  const sizes = planned.rowParts.length < 2 ? [planned.shape.reduce((a, b) => a * b, 1) * (dtype === 'float32' ? 4 : 2)] : planned.rowParts.map((rows) => rows * rowBytes);
  const ranges = await writeEntries(shards, names, sizes, chunks);
  const out: Record<string, WeightEntry> = {};
  names.forEach((name, i) => {
    out[name] = { parts: ranges[i] ?? [], sizeBytes: sizes[i] ?? 0, dtype, shape: shapes[i] ?? [], layout: 'row-major' };
  });
  return out;
}

/**
 * Writes an int4 block-32 weight [rows, cols]: its packed codes come in `packedChunks` (row order,
 * rows of ceil(cols/32) blocks), then `scales` ([rows, ceil(cols/32)], f32 values or f16 bits), which the chunks may fill as they are
 * produced — it is written only after the last chunk. Row parts: the codes of every part, then the scales of
 * every part, cut at the same rows.
 */
export async function writeInt4Weight(shards: ShardWriter, planned: PlannedWeight, packedChunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, scales: Float32Array | Uint16Array): Promise<Record<string, WeightEntry>> {
  const [, cols = 1] = planned.shape;
  const blocks = int4BlocksPerRow(cols);
  const names = partNames(planned);
  const codeRanges = await writeEntries(shards, names, planned.rowParts.map((rows) => rows * blocks * 16), packedChunks);
  const scaleBytes = scales.BYTES_PER_ELEMENT;
  const scaleRanges = await writeEntries(
    shards,
    names.map(scalesName),
    planned.rowParts.map((rows) => rows * blocks * scaleBytes),
    [new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength)],
  );
  const out: Record<string, WeightEntry> = {};
  names.forEach((name, i) => {
    const rows = planned.rowParts[i] ?? 0;
    out[name] = { parts: codeRanges[i] ?? [], sizeBytes: rows * blocks * 16, dtype: 'uint8', shape: [rows, blocks, 16], layout: 'matmulnbits-q4-b32' };
    out[scalesName(name)] = { parts: scaleRanges[i] ?? [], sizeBytes: rows * blocks * scaleBytes, dtype: scales instanceof Float32Array ? 'float32' : 'float16', shape: [rows, blocks], layout: 'matmulnbits-scales' };
  });
  return out;
}
