/**
 * `exportPackage`: a Hugging Face Sarashina2-Vision checkpoint (directory or http(s) base URL) →
 * our model package (manifest.json, ONNX graphs with topology only, weight shards, tokenizer files).
 *
 * Tensors are read and converted one at a time, in row chunks, so memory stays near the largest
 * tensor's raw bytes. The package is written to `<out>.partial-<pid>` and renamed to `<out>` only once
 * complete; any failure removes the partial directory, so nothing complete-looking is left behind.
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
import { QWEN2_VL_IMAGE_DEFAULTS } from '../../src/protocol/model-spec';
import { encodeOnnxModel } from '../../src/ort/onnx/onnx-model';
import { checkTensorShapes, parseImageProcessorConfig, parseModelConfig } from '../hf-config';
import { SafetensorsCheckpoint } from '../safetensors/safetensors-checkpoint';
import { toFloat32 } from '../safetensors/safetensors-dtype';
import { float16BitsToFloat32, toFloat16Array } from '../quantize/float16';
import { quantizeInt4Block32 } from '../quantize/int4-block-quantizer';
import { ExportProgressTracker, type ExportProgress } from './export-progress';
import { packageGraphs, packagePipelines } from './package-graphs';
import { ShardWriter } from './shard-writer';
import { parseJsonFile, readSourceFile, requireSourceFile } from './source-files';
import type { PlannedWeight } from './weight-plan';
import { planWeights } from './weight-plan';
import { fileWriteError } from './write-error';

export const EXPORTER_VERSION = '0.1.0';
/** Default largest shard: small enough to stream and cache, large enough to keep the file count low. */
export const DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024;
/** Converted per step: bounds the f32 scratch of a large tensor. */
const CHUNK_ELEMENTS = 4 * 1024 * 1024;

export interface ExportOptions {
  readonly precision: Precision;
  readonly maxShardBytes?: number;
  /** Replace an existing `outDir` (only after the new package is complete). */
  readonly overwrite?: boolean;
  readonly accuracyLevel?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ExportProgress) => void;
  readonly fetchImpl?: typeof fetch;
}

export interface ExportResult {
  readonly outDir: string;
  readonly manifest: PackageManifest;
  /** Bytes of all files written. */
  readonly totalBytes: number;
}

/** Exports `source` into `outDir`. Errors are SarashinaErrors naming the file and tensor. */
export async function exportPackage(source: string, outDir: string, options: ExportOptions): Promise<ExportResult> {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (maxShardBytes > 2 ** 31) throw new SarashinaError('invalid-request', `maxShardBytes ${maxShardBytes} is over 2 GB, the largest file a browser handles well. Use at most ${2 ** 31}.`, { maxShardBytes });
  if (!options.overwrite && (await exists(outDir))) {
    throw new SarashinaError('invalid-request', `${outDir} already exists. Remove it, choose another --out, or pass --force to replace it.`, { outDir });
  }
  const fetchOpt = options.fetchImpl ? { fetchImpl: options.fetchImpl } : {};
  const spec = parseModelConfig(parseJsonFile(await requireSourceFile(source, 'config.json', fetchOpt), 'config.json'));
  const preprocessorBytes = await readSourceFile(source, 'preprocessor_config.json', fetchOpt);
  const imageProcessor = preprocessorBytes ? parseImageProcessorConfig(parseJsonFile(preprocessorBytes, 'preprocessor_config.json')) : QWEN2_VL_IMAGE_DEFAULTS;
  const tokenizerBytes = await requireSourceFile(source, 'tokenizer.json', fetchOpt);
  const tokenizerConfigBytes = await requireSourceFile(source, 'tokenizer_config.json', fetchOpt);
  parseJsonFile(tokenizerBytes, 'tokenizer.json');
  parseJsonFile(tokenizerConfigBytes, 'tokenizer_config.json');
  const chatTemplateBytes = await readSourceFile(source, 'chat_template.json', fetchOpt);
  if (chatTemplateBytes) parseJsonFile(chatTemplateBytes, 'chat_template.json');
  const checkpoint = await SafetensorsCheckpoint.open(source, fetchOpt);
  checkTensorShapes(spec, checkpoint.tensors);

  const partial = `${outDir}.partial-${process.pid}`;
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
  } catch (cause) {
    throw fileWriteError(partial, cause);
  }
  const shards = new ShardWriter(partial, maxShardBytes);
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
      tokenizer: await writeSmall('tokenizer.json', tokenizerBytes),
      tokenizerConfig: await writeSmall('tokenizer_config.json', tokenizerConfigBytes),
      chatTemplate: chatTemplateBytes ? await writeSmall('chat_template.json', chatTemplateBytes) : null,
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

    const plan = planWeights(spec, options.precision);
    const progress = new ExportProgressTracker(
      plan.reduce((n, w) => n + checkpoint.info(w.source).sizeBytes, 0),
      options.onProgress,
    );
    const weights: Record<string, WeightEntry> = {};
    for (const planned of plan) {
      if (options.signal?.aborted) throw new SarashinaError('aborted', `Export was cancelled before tensor ${planned.name}; the partial package was removed.`, { tensor: planned.name });
      Object.assign(weights, await convertWeight(checkpoint, planned, shards));
      progress.add(checkpoint.info(planned.source).sizeBytes, planned.name);
    }
    const manifest: PackageManifest = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      precision: options.precision,
      model: spec,
      imageProcessor,
      tokenizer,
      graphs,
      shards: await shards.finish(),
      weights,
      pipelines: packagePipelines(spec),
      exporter: { name: 'sarashina-webgpu export', version: EXPORTER_VERSION, source: describeSource(source) },
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

/** Reads one checkpoint tensor and writes its package form; returns the manifest entries. */
async function convertWeight(checkpoint: SafetensorsCheckpoint, planned: PlannedWeight, shards: ShardWriter): Promise<Record<string, WeightEntry>> {
  const { dtype, bytes } = await checkpoint.read(planned.source);
  const [rows = 1, cols = 1] = planned.shape.length === 1 ? [1, planned.shape[0] ?? 1] : planned.shape;
  const elementBytes = bytes.length / (rows * cols);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / cols));
  const chunks = function* (): Generator<{ data: Float32Array; rows: number; row: number }> {
    for (let r = 0; r < rows; r += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - r);
      const data = toFloat32(dtype, bytes.subarray(r * cols * elementBytes, (r + n) * cols * elementBytes), `tensor ${planned.source}`);
      yield { data, rows: n, row: r };
    }
  };
  const conv = planned.conversion;
  if (conv.kind === 'float') {
    const sizeBytes = rows * cols * (conv.dtype === 'float32' ? 4 : 2);
    await shards.begin(planned.name, sizeBytes);
    for (const chunk of chunks()) {
      checkFinite(chunk.data, planned, chunk.row, cols);
      if (conv.dtype === 'float32') {
        await shards.write(new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength));
      } else {
        const half = toFloat16Array(chunk.data);
        for (let i = 0; i < half.length; i++) {
          if (!Number.isFinite(float16BitsToFloat32(half[i] ?? 0))) {
            throw new SarashinaError('invalid-model', `Tensor ${planned.source} has the value ${chunk.data[i]} at element ${chunk.row * cols + i}, beyond float16's range (±65504). Export with --precision q4f32 or fp32.`, { tensor: planned.source, value: chunk.data[i] ?? 0 });
          }
        }
        await shards.write(new Uint8Array(half.buffer, half.byteOffset, half.byteLength));
      }
    }
    return { [planned.name]: { parts: shards.end(), sizeBytes, dtype: conv.dtype, shape: [...planned.shape], layout: 'row-major' } };
  }
  const blocks = cols / 32;
  const scales = conv.scaleDtype === 'float32' ? new Float32Array(rows * blocks) : new Uint16Array(rows * blocks);
  await shards.begin(planned.name, rows * cols / 2);
  for (const chunk of chunks()) {
    const q = quantizeInt4Block32(chunk.data, chunk.rows, cols, { scaleType: conv.scaleDtype, name: planned.source });
    scales.set(q.scales, chunk.row * blocks);
    await shards.write(q.packed);
  }
  const packedParts = shards.end();
  await shards.begin(`${planned.name}.scales`, scales.byteLength);
  await shards.write(new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength));
  return {
    [planned.name]: { parts: packedParts, sizeBytes: rows * cols / 2, dtype: 'uint8', shape: [rows, blocks, 16], layout: 'matmulnbits-q4-b32' },
    [`${planned.name}.scales`]: { parts: shards.end(), sizeBytes: scales.byteLength, dtype: conv.scaleDtype, shape: [rows, blocks], layout: 'matmulnbits-scales' },
  };
}

function checkFinite(data: Float32Array, planned: PlannedWeight, row: number, cols: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] ?? 0)) {
      throw new SarashinaError('invalid-model', `Tensor ${planned.source} has the value ${data[i]} at element ${row * cols + i}; the checkpoint is damaged. Download it again.`, { tensor: planned.source });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The source without credentials or query strings (it is stored in the manifest). */
function describeSource(source: string): string {
  try {
    const url = new URL(source);
    if (url.protocol === 'http:' || url.protocol === 'https:') return `${url.origin}${url.pathname}`;
  } catch {
    // a path
  }
  return source;
}
