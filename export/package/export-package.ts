/**
 * `exportPackage`: a Hugging Face Sarashina2-Vision checkpoint (directory or http(s) base URL) →
 * our model package (manifest.json, ONNX graphs with topology only, weight shards, tokenizer files).
 *
 * Tensors are read and converted one at a time, in row chunks, so memory stays near the largest
 * tensor's raw bytes. The directory itself (partial + rename, manifest, graphs) is package-writer.ts.
 */
import { SarashinaError } from '../../src/protocol/errors';
import type { Precision, WeightEntry } from '../../src/protocol/manifest';
import { QWEN2_VL_IMAGE_DEFAULTS, type ImagePipeline } from '../../src/protocol/model-spec';
import { checkTensorShapes, parseImageProcessorConfig, parseModelConfig } from '../hf-config';
import { SafetensorsCheckpoint } from '../safetensors/safetensors-checkpoint';
import { toFloat32 } from '../safetensors/safetensors-dtype';
import { float16BitsToFloat32, toFloat16Array } from '../quantize/float16';
import { int4BlocksPerRow, quantizeInt4Block32 } from '../quantize/int4-block-quantizer';
import { ExportProgressTracker, type ExportProgress } from './export-progress';
import { checkPackageTarget, type ExportResult, writeFloatWeight, writeInt4Weight, writePackage } from './package-writer';
import type { ShardWriter } from './shard-writer';
import { readCheckpointTextFiles } from './checkpoint-text-files';
import { parseJsonFile, readSourceFile, requireSourceFile } from './source-files';
import type { PlannedWeight } from './weight-plan';
import { planWeights } from './weight-plan';

export { DEFAULT_MAX_SHARD_BYTES, EXPORTER_VERSION, type ExportResult } from './package-writer';
/** Converted per step: bounds the f32 scratch of a large tensor. */
const CHUNK_ELEMENTS = 4 * 1024 * 1024;

export interface ExportOptions {
  readonly precision: Precision;
  readonly maxShardBytes?: number;
  /** Replace an existing `outDir` (only after the new package is complete). */
  readonly overwrite?: boolean;
  readonly accuracyLevel?: number;
  /** Image processor, when preprocessor_config.json's type alone cannot tell (hf-config.ts chooseImagePipeline). */
  readonly imagePipeline?: ImagePipeline;
  /** Largest row part of a decoder linear or the embedding table (default 128 MiB; package-writer.ts). */
  readonly maxWeightPartBytes?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ExportProgress) => void;
  readonly fetchImpl?: typeof fetch;
}

/** Exports `source` into `outDir`. Errors are SarashinaErrors naming the file and tensor. */
export async function exportPackage(source: string, outDir: string, options: ExportOptions): Promise<ExportResult> {
  await checkPackageTarget(outDir, options);
  const fetchOpt = options.fetchImpl ? { fetchImpl: options.fetchImpl } : {};
  const spec = parseModelConfig(parseJsonFile(await requireSourceFile(source, 'config.json', fetchOpt), 'config.json'));
  const preprocessorBytes = await readSourceFile(source, 'preprocessor_config.json', fetchOpt);
  const imageProcessor = preprocessorBytes
    ? parseImageProcessorConfig(parseJsonFile(preprocessorBytes, 'preprocessor_config.json'), {
        processorCode: await readProcessorCode(source, fetchOpt),
        ...(options.imagePipeline ? { pipeline: options.imagePipeline } : {}),
      })
    : QWEN2_VL_IMAGE_DEFAULTS;
  const { tokenizerBytes, tokenizerConfigBytes, chatTemplateBytes } = await readCheckpointTextFiles(source, fetchOpt);
  const checkpoint = await SafetensorsCheckpoint.open(source, fetchOpt);
  checkTensorShapes(spec, checkpoint.tensors);

  const progress = new ExportProgressTracker(
    planWeights(spec, options.precision, options).reduce((n, w) => n + checkpoint.info(w.source).sizeBytes, 0),
    options.onProgress,
  );
  return writePackage(
    { spec, imageProcessor, tokenizerBytes, tokenizerConfigBytes, chatTemplateBytes, source: describeSource(source) },
    (planned, shards) => convertWeight(checkpoint, planned, shards),
    outDir,
    { ...options, onWeight: (planned) => progress.add(checkpoint.info(planned.source).sizeBytes, planned.name) },
  );
}

/** The remote processor code a Sarashina2-Vision repo ships (read only to choose the image pipeline). */
const PROCESSOR_CODE_FILES = ['processing_sarashina2_vision.py', 'image_processing_sarashina2_vision.py'];

async function readProcessorCode(source: string, fetchOpt: { fetchImpl?: typeof fetch }): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const file of PROCESSOR_CODE_FILES) {
    const bytes = await readSourceFile(source, file, fetchOpt);
    if (bytes) out.push({ file, text: new TextDecoder().decode(bytes) });
  }
  return out;
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
    const floatChunks = function* (): Generator<Uint8Array> {
      for (const chunk of chunks()) {
        checkFinite(chunk.data, planned, chunk.row, cols);
        if (conv.dtype === 'float32') {
          yield new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
          continue;
        }
        const half = toFloat16Array(chunk.data);
        for (let i = 0; i < half.length; i++) {
          if (!Number.isFinite(float16BitsToFloat32(half[i] ?? 0))) {
            throw new SarashinaError('invalid-model', `Tensor ${planned.source} has the value ${chunk.data[i]} at element ${chunk.row * cols + i}, beyond float16's range (±65504). Export with --precision q4f32 or fp32.`, { tensor: planned.source, value: chunk.data[i] ?? 0 });
          }
        }
        yield new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
      }
    };
    return writeFloatWeight(shards, planned, conv.dtype, floatChunks());
  }
  const blocks = int4BlocksPerRow(cols);
  const scales = conv.scaleDtype === 'float32' ? new Float32Array(rows * blocks) : new Uint16Array(rows * blocks);
  const packedChunks = function* (): Generator<Uint8Array> {
    for (const chunk of chunks()) {
      const q = quantizeInt4Block32(chunk.data, chunk.rows, cols, { scaleType: conv.scaleDtype, name: planned.source });
      scales.set(q.scales, chunk.row * blocks);
      yield q.packed;
    }
  };
  return writeInt4Weight(shards, planned, packedChunks(), scales);
}

function checkFinite(data: Float32Array, planned: PlannedWeight, row: number, cols: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] ?? 0)) {
      throw new SarashinaError('invalid-model', `Tensor ${planned.source} has the value ${data[i]} at element ${row * cols + i}; the checkpoint is damaged. Download it again.`, { tensor: planned.source });
    }
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
