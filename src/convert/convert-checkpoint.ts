/**
 * `convertCheckpoint`: a Hugging Face Sarashina2-Vision checkpoint (any CheckpointSource: a directory, an http(s)
 * folder, a Hub revision) → our model package (manifest.json, ONNX graphs with topology only, weight shards,
 * tokenizer files) through any PackageSink (a directory, OPFS). The one converter: the CLI (export/cli/export.ts)
 * and createEngine({ model: <checkpoint> }) both call it.
 *
 * Memory stays bounded: each tensor is read in row chunks of at most `chunkElements` elements (one range read each,
 * the next one fetched while the current one converts), never whole; only an int4 weight's scales (1/16 of its
 * codes) are held until its codes are written.
 */
import { SarashinaError } from '../protocol/errors';
import type { Precision, WeightEntry } from '../protocol/manifest';
import { type ImageProcessorSpec, type ImagePipeline, type ModelSpec, QWEN2_VL_IMAGE_DEFAULTS } from '../protocol/model-spec';
import type { ByteSource, CheckpointSource } from './checkpoint-source';
import { checkTensorShapes, parseImageProcessorConfig, parseModelConfig } from './hf-config';
import { readCheckpointTextFiles } from './package/checkpoint-text-files';
import { ExportProgressTracker, type ExportProgress } from './package/export-progress';
import { type ExportResult, writeFloatWeight, writeInt4Weight, writePackage, EXPORTER_VERSION } from './package/package-writer';
import type { ShardWriter } from './package/shard-writer';
import { parseJsonFile, requireSourceFile } from './package/source-files';
import { type PlannedWeight, planWeights } from './package/weight-plan';
import type { PackageSink } from './package-sink';
import { toFloat16Array } from './quantize/float16';
import { int4BlocksPerRow, quantizeInt4Block32 } from './quantize/int4-block-quantizer';
import { SafetensorsCheckpoint } from './safetensors/safetensors-checkpoint';
import { dtypeSizeBytes, toFloat32 } from './safetensors/safetensors-dtype';

/** Converted per step: bounds the raw bytes and the f32 scratch of a large tensor (16 MiB of f32). */
const DEFAULT_CHUNK_ELEMENTS = 4 * 1024 * 1024;

export interface ConvertOptions {
  readonly precision: Precision;
  readonly maxShardBytes?: number;
  readonly accuracyLevel?: number;
  /** Image processor, when preprocessor_config.json's type alone cannot tell (hf-config.ts chooseImagePipeline). */
  readonly imagePipeline?: ImagePipeline;
  /** Largest row part of a decoder linear or the embedding table (default 128 MiB; package-writer.ts). */
  readonly maxWeightPartBytes?: number;
  /**
   * Largest read, in tensor elements (default 4 Mi: 8 MiB of bf16): one range request each, and the bound on the
   * memory a tensor takes while it converts (a whole row at least).
   */
  readonly chunkElements?: number;
  /** Keep a journal in the sink and resume an interrupted conversion of the same source, revision and options. */
  readonly resumable?: boolean;
  /** Output bytes between journals inside a shard (default 1 MiB; 0: after every tensor). package-writer.ts. */
  readonly journalEveryBytes?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ExportProgress) => void;
}

/** What a checkpoint is, from its small files: enough to choose a variant and to estimate before converting. */
export interface CheckpointHeader {
  readonly spec: ModelSpec;
  readonly imageProcessor: ImageProcessorSpec;
}

/**
 * Reads config.json and preprocessor_config.json: 'invalid-model' for a repository that is not a Sarashina2-Vision
 * checkpoint (another model_type, missing files), naming the file.
 */
export async function readCheckpointHeader(source: CheckpointSource, options: { readonly imagePipeline?: ImagePipeline; readonly signal?: AbortSignal } = {}): Promise<CheckpointHeader> {
  const { signal } = options;
  const spec = parseModelConfig(parseJsonFile(await requireSourceFile(source, 'config.json', signal), 'config.json'));
  const preprocessorBytes = await source.readFile('preprocessor_config.json', signal);
  const imageProcessor = preprocessorBytes
    ? parseImageProcessorConfig(parseJsonFile(preprocessorBytes, 'preprocessor_config.json'), {
        processorCode: await readProcessorCode(source, signal),
        ...(options.imagePipeline ? { pipeline: options.imagePipeline } : {}),
      })
    : QWEN2_VL_IMAGE_DEFAULTS;
  return { spec, imageProcessor };
}

/** Converts `source` into `sink`. Errors are SarashinaErrors naming the file and tensor. */
export async function convertCheckpoint(source: CheckpointSource, sink: PackageSink, options: ConvertOptions): Promise<ExportResult> {
  const { signal } = options;
  const { spec, imageProcessor } = await readCheckpointHeader(source, options);
  const { tokenizerBytes, tokenizerConfigBytes, chatTemplateBytes } = await readCheckpointTextFiles(source, signal);
  const counted = countingSource(source);
  const checkpoint = await SafetensorsCheckpoint.open(counted.source, signal);
  checkTensorShapes(spec, checkpoint.tensors);

  const plan = planWeights(spec, options.precision, options);
  const progress = new ExportProgressTracker(
    plan.reduce((n, w) => n + checkpoint.info(w.source).sizeBytes, 0),
    options.onProgress,
    () => counted.readBytes,
    plan.length,
  );
  const resumeKey = options.resumable
    ? JSON.stringify({
        exporter: EXPORTER_VERSION,
        source: source.description,
        revision: source.revision ?? null,
        precision: options.precision,
        maxShardBytes: options.maxShardBytes ?? null,
        maxWeightPartBytes: options.maxWeightPartBytes ?? null,
        accuracyLevel: options.accuracyLevel ?? null,
        imagePipeline: imageProcessor.pipeline ?? null,
        // The checkpoint's tensors as its headers describe them: a changed file is another conversion.
        tensors: [...checkpoint.tensors].map(([name, t]) => `${name}:${t.dtype}:${t.shape.join('x')}:${t.file}@${t.byteOffset}`).join(','),
      })
    : undefined;
  return writePackage(
    { spec, imageProcessor, tokenizerBytes, tokenizerConfigBytes, chatTemplateBytes, source: source.description },
    (planned, shards) => convertWeight(checkpoint, planned, shards, options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS, signal),
    sink,
    {
      ...options,
      ...(resumeKey === undefined ? {} : { resumeKey }),
      onWeight: (planned, resumed) => progress.add(checkpoint.info(planned.source).sizeBytes, planned.name, resumed),
    },
  );
}

/** The remote processor code a Sarashina2-Vision repo ships (read only to choose the image pipeline). */
const PROCESSOR_CODE_FILES = ['processing_sarashina2_vision.py', 'image_processing_sarashina2_vision.py'];

async function readProcessorCode(source: CheckpointSource, signal: AbortSignal | undefined): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const file of PROCESSOR_CODE_FILES) {
    const bytes = await source.readFile(file, signal);
    if (bytes) out.push({ file, text: new TextDecoder().decode(bytes) });
  }
  return out;
}

/** `source` with a count of the bytes its large files returned (progress: bytes downloaded). */
function countingSource(source: CheckpointSource): { readonly source: CheckpointSource; readonly readBytes: number } {
  const state = { readBytes: 0 };
  const wrapped: CheckpointSource = {
    description: source.description,
    ...(source.revision === undefined ? {} : { revision: source.revision }),
    readFile: (name, signal) => source.readFile(name, signal),
    async openFile(name, signal) {
      const inner: ByteSource = await source.openFile(name, signal);
      return {
        name: inner.name,
        sizeBytes: inner.sizeBytes,
        async read(offset, length, readSignal) {
          const bytes = await inner.read(offset, length, readSignal);
          state.readBytes += bytes.byteLength;
          return bytes;
        },
      };
    },
  };
  return {
    source: wrapped,
    get readBytes() {
      return state.readBytes;
    },
  };
}

interface RowChunk {
  readonly data: Float32Array;
  readonly rows: number;
  readonly row: number;
}

/**
 * The rows of tensor `planned.source` as float32, `rowsPerChunk` rows at a time, each chunk one range read; the
 * next chunk's read is in flight while the caller converts the current one.
 */
async function* rowChunks(checkpoint: SafetensorsCheckpoint, planned: PlannedWeight, rows: number, cols: number, chunkElements: number, signal: AbortSignal | undefined): AsyncGenerator<RowChunk> {
  const info = checkpoint.info(planned.source);
  const rowBytes = cols * dtypeSizeBytes(info.dtype);
  const rowsPerChunk = Math.max(1, Math.floor(chunkElements / cols));
  const fetchChunk = (r: number): Promise<Uint8Array> => {
    const read = checkpoint.readBytes(planned.source, r * rowBytes, Math.min(rowsPerChunk, rows - r) * rowBytes, signal);
    // A prefetch may fail before anyone awaits it: the await below still sees the error.
    read.catch(() => undefined);
    return read;
  };
  let pending: Promise<Uint8Array> | null = rows > 0 ? fetchChunk(0) : null;
  try {
    for (let r = 0; r < rows; r += rowsPerChunk) {
      const bytes = await (pending as Promise<Uint8Array>);
      const next = r + rowsPerChunk;
      pending = next < rows ? fetchChunk(next) : null;
      const n = Math.min(rowsPerChunk, rows - r);
      yield { data: toFloat32(info.dtype, bytes, `tensor ${planned.source}`), rows: n, row: r };
    }
  } finally {
    // A failure while converting leaves a read in flight: it settles unobserved (fetchChunk's catch).
    pending = null;
  }
}

/** Reads one checkpoint tensor in row chunks and writes its package form; returns the manifest entries. */
async function convertWeight(checkpoint: SafetensorsCheckpoint, planned: PlannedWeight, shards: ShardWriter, chunkElements: number, signal: AbortSignal | undefined): Promise<Record<string, WeightEntry>> {
  const info = checkpoint.info(planned.source);
  const [rows = 1, cols = 1] = planned.shape.length === 1 ? [1, planned.shape[0] ?? 1] : planned.shape;
  if (rows * cols * dtypeSizeBytes(info.dtype) !== info.sizeBytes) {
    throw new SarashinaError('invalid-model', `Tensor ${planned.source} holds ${info.sizeBytes} bytes, not the ${rows}×${cols} ${info.dtype} values config.json implies. The checkpoint does not match its config.`, { tensor: planned.source });
  }
  const chunks = (): AsyncGenerator<RowChunk> => rowChunks(checkpoint, planned, rows, cols, chunkElements, signal);
  const conv = planned.conversion;
  if (conv.kind === 'float') {
    const floatChunks = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of chunks()) {
        checkFinite(chunk.data, planned, chunk.row, cols);
        if (conv.dtype === 'float32') {
          yield new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
          continue;
        }
        const half = toFloat16Array(chunk.data);
        for (let i = 0; i < half.length; i++) {
          // Exponent all ones: ±Inf or NaN (the input is finite, so an overflow). A bit test, not a decode: this
          // loop runs over every element of every f16 weight.
          if (((half[i] ?? 0) & 0x7c00) === 0x7c00) {
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
  const packedChunks = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks()) {
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
