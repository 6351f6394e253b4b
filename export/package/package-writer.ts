/**
 * `writePackage`: everything a package directory holds except where the weight bytes come from —
 * tokenizer files, graphs, shards, the manifest (validated as the engine will), written into
 * `<out>.partial-<pid>` and renamed to `<out>` only once complete; any failure removes the partial
 * directory, so nothing complete-looking is left behind. exportPackage (a checkpoint converted) and
 * writeRandomPackage (weights generated in package form) differ only in their `WeightProducer`.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SarashinaError } from '../../src/protocol/errors';
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
} from '../../src/protocol/manifest';
import type { ImageProcessorSpec, ModelSpec } from '../../src/protocol/model-spec';
import { int4BlocksPerRow } from '../../src/protocol/int4-layout';
import { scalesName } from '../../src/protocol/weight-names';
import { partName, type WeightSplit } from '../../src/protocol/weight-parts';
import { encodeOnnxModel } from '../../src/ort/onnx/onnx-model';
import { packageGraphs } from './package-graphs';
import { ShardWriter } from './shard-writer';
import { planWeights, type PlannedWeight } from './weight-plan';
import { fileWriteError } from './write-error';

/** 0.3.0: manifest format 3 (weights over the part limit as row parts, `weightSplits`). 0.2.0 wrote format 2. */
export const EXPORTER_VERSION = '0.3.0';
/** Default largest shard: small enough to stream and cache, large enough to keep the file count low. */
export const DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024;

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

export interface WritePackageOptions {
  readonly precision: Precision;
  readonly maxShardBytes?: number;
  /** Replace an existing `outDir` (only after the new package is complete). */
  readonly overwrite?: boolean;
  readonly accuracyLevel?: number;
  /**
   * Largest row part of a splittable weight (decoder linears, lm_head, embedding table), default 128 MiB: what
   * every WebGPU adapter can bind. Tests pass a few KiB to split the tiny model's weights.
   */
  readonly maxWeightPartBytes?: number;
  readonly signal?: AbortSignal;
  /** Called after each planned weight is written. */
  readonly onWeight?: (planned: PlannedWeight) => void;
}

export interface ExportResult {
  readonly outDir: string;
  readonly manifest: PackageManifest;
  /** Bytes of all files written. */
  readonly totalBytes: number;
}

/**
 * Checks the options that need no source: the shard size and that `outDir` may be written. Call it
 * before reading a large source, so a wrong --out fails at once.
 */
export async function checkPackageTarget(outDir: string, options: Pick<WritePackageOptions, 'maxShardBytes' | 'overwrite' | 'maxWeightPartBytes'>): Promise<void> {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (maxShardBytes > 2 ** 31) throw new SarashinaError('invalid-request', `maxShardBytes ${maxShardBytes} is over 2 GB, the largest file a browser handles well. Use at most ${2 ** 31}.`, { maxShardBytes });
  const part = options.maxWeightPartBytes;
  if (part !== undefined && !(Number.isInteger(part) && part > 0)) {
    throw new SarashinaError('invalid-request', `maxWeightPartBytes ${part} is not a positive whole number of bytes. Leave it out for 128 MiB, the binding every WebGPU adapter grants.`, { maxWeightPartBytes: part });
  }
  if (!options.overwrite && (await exists(outDir))) {
    throw new SarashinaError('invalid-request', `${outDir} already exists. Remove it, choose another --out, or pass --force to replace it.`, { outDir });
  }
}

/** Writes the package of `content` into `outDir`, each planned weight from `produce`, in plan order. */
export async function writePackage(content: PackageContent, produce: WeightProducer, outDir: string, options: WritePackageOptions): Promise<ExportResult> {
  const { spec } = content;
  const partial = `${outDir}.partial-${process.pid}`;
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
  } catch (cause) {
    throw fileWriteError(partial, cause);
  }
  const shards = new ShardWriter(partial, options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  try {
    const writeSmall = async (path: string, bytes: Uint8Array): Promise<PackageFile> => {
      try {
        await writeFile(join(partial, path), bytes, { flag: 'wx' });
      } catch (cause) {
        throw fileWriteError(join(partial, path), cause);
      }
      return { path, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    };
    const tokenizer = {
      tokenizer: await writeSmall('tokenizer.json', content.tokenizerBytes),
      tokenizerConfig: await writeSmall('tokenizer_config.json', content.tokenizerConfigBytes),
      chatTemplate: content.chatTemplateBytes ? await writeSmall('chat_template.json', content.chatTemplateBytes) : null,
    };
    const graphs: GraphEntry[] = [];
    const plan = planWeights(spec, options.precision, options);
    const rowParts = new Map(plan.map((w) => [w.name, w.rowParts]));
    for (const [name, model] of packageGraphs(spec, { ...options, rowParts: (weight) => rowParts.get(weight) })) {
      const file = await writeSmall(`${name}.onnx`, encodeOnnxModel(model.graph));
      const signature = (v: { name: string; type: string; shape: readonly (number | string)[] }) => ({ name: v.name, dtype: v.type as TensorDtype, shape: [...v.shape] });
      graphs.push({
        ...file,
        name,
        inputs: model.graph.inputs.filter((i) => !(i.name in model.weights)).map(signature),
        outputs: model.graph.outputs.map(signature),
        weights: model.weights,
      });
    }

    const weights: Record<string, WeightEntry> = {};
    for (const planned of plan) {
      if (options.signal?.aborted) throw new SarashinaError('aborted', `Export was cancelled before tensor ${planned.name}; the partial package was removed.`, { tensor: planned.name });
      Object.assign(weights, await produce(planned, shards));
      options.onWeight?.(planned);
    }
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
    await writeSmall(MANIFEST_FILE_NAME, new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`));
    if (await exists(outDir)) await rm(outDir, { recursive: true, force: true });
    await mkdir(dirname(outDir), { recursive: true });
    try {
      await rename(partial, outDir);
    } catch (cause) {
      throw fileWriteError(outDir, cause);
    }
    const totalBytes = [tokenizer.tokenizer, tokenizer.tokenizerConfig, ...(tokenizer.chatTemplate ? [tokenizer.chatTemplate] : []), ...graphs, ...manifest.shards].reduce((n, f) => n + f.sizeBytes, 0);
    return { outDir, manifest, totalBytes };
  } catch (e) {
    await shards.abort();
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
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
async function writeEntries(shards: ShardWriter, names: readonly string[], sizes: readonly number[], chunks: Iterable<Uint8Array>): Promise<ShardRange[][]> {
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
  for (const chunk of chunks) {
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
export async function writeFloatWeight(shards: ShardWriter, planned: PlannedWeight, dtype: Exclude<WeightEntry['dtype'], 'uint8'>, chunks: Iterable<Uint8Array>): Promise<Record<string, WeightEntry>> {
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
export async function writeInt4Weight(shards: ShardWriter, planned: PlannedWeight, packedChunks: Iterable<Uint8Array>, scales: Float32Array | Uint16Array): Promise<Record<string, WeightEntry>> {
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

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
