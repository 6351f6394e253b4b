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
  type Precision,
  type TensorDtype,
  type WeightEntry,
} from '../../src/protocol/manifest';
import type { ImageProcessorSpec, ModelSpec } from '../../src/protocol/model-spec';
import { int4BlocksPerRow, int4WeightBytes } from '../../src/protocol/int4-layout';
import { scalesName } from '../../src/protocol/weight-names';
import { encodeOnnxModel } from '../../src/ort/onnx/onnx-model';
import { packageGraphs } from './package-graphs';
import { ShardWriter } from './shard-writer';
import { planWeights, type PlannedWeight } from './weight-plan';
import { fileWriteError } from './write-error';

/** 0.2.0: manifest format 2 (vision-whole and decoder only, no pipelines). */
export const EXPORTER_VERSION = '0.2.0';
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
export async function checkPackageTarget(outDir: string, options: Pick<WritePackageOptions, 'maxShardBytes' | 'overwrite'>): Promise<void> {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (maxShardBytes > 2 ** 31) throw new SarashinaError('invalid-request', `maxShardBytes ${maxShardBytes} is over 2 GB, the largest file a browser handles well. Use at most ${2 ** 31}.`, { maxShardBytes });
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
    for (const [name, model] of packageGraphs(spec, options)) {
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
    for (const planned of planWeights(spec, options.precision)) {
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

/** Writes a float weight whose package bytes (f32 or f16, row-major) come in `chunks`. */
export async function writeFloatWeight(shards: ShardWriter, planned: PlannedWeight, dtype: Exclude<WeightEntry['dtype'], 'uint8'>, chunks: Iterable<Uint8Array>): Promise<Record<string, WeightEntry>> {
  const count = planned.shape.reduce((a, b) => a * b, 1);
  const sizeBytes = count * (dtype === 'float32' ? 4 : 2);
  await shards.begin(planned.name, sizeBytes);
  for (const chunk of chunks) await shards.write(chunk);
  return { [planned.name]: { parts: shards.end(), sizeBytes, dtype, shape: [...planned.shape], layout: 'row-major' } };
}

/**
 * Writes an int4 block-32 weight [rows, cols]: its packed codes come in `packedChunks` (row order, rows of
 * ceil(cols/32) blocks), then `scales` ([rows, ceil(cols/32)], f32 values or f16 bits), which the chunks may fill
 * as they are produced — it is written only after the last chunk.
 */
export async function writeInt4Weight(shards: ShardWriter, planned: PlannedWeight, packedChunks: Iterable<Uint8Array>, scales: Float32Array | Uint16Array): Promise<Record<string, WeightEntry>> {
  const [rows = 1, cols = 1] = planned.shape;
  const blocks = int4BlocksPerRow(cols);
  const { packedBytes } = int4WeightBytes(rows, cols, 0);
  await shards.begin(planned.name, packedBytes);
  for (const chunk of packedChunks) await shards.write(chunk);
  const packedParts = shards.end();
  const scalesWeight = scalesName(planned.name);
  await shards.begin(scalesWeight, scales.byteLength);
  await shards.write(new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength));
  return {
    [planned.name]: { parts: packedParts, sizeBytes: packedBytes, dtype: 'uint8', shape: [rows, blocks, 16], layout: 'matmulnbits-q4-b32' },
    [scalesWeight]: { parts: shards.end(), sizeBytes: scales.byteLength, dtype: scales instanceof Float32Array ? 'float32' : 'float16', shape: [rows, blocks], layout: 'matmulnbits-scales' },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
