/**
 * `writeRandomPackage`: a model package with random weights, written directly in package form — the
 * same manifest, graphs, tokenizer files and shard layout `exportPackage` gives for the random
 * checkpoint of that preset and precision, without writing a checkpoint or quantizing anything. It
 * exists for benchmarks on machines that cannot receive an 8 GB package (issue 7).
 *
 * Values: float weights are exactly the random checkpoint's (the same generator, bf16-valued, so an
 * fp32 package is byte-identical to the exported checkpoint's). Int4 weights are uniform random codes
 * from xorshift128 in 32-bit words, with block scales of random sign and magnitude
 * std / 4.64 · (0.9…1.1), std being the checkpoint's init rule (`initFor`): the uniform codes −8…7 have
 * an RMS of 4.64, so the dequantized weights have that std. Random signs cancel the codes' −0.5 mean,
 * which with positive scales would add the same offset to every output row and grow layer by layer.
 */
import { type ErrorDetails, SarashinaError } from '../../src/protocol/errors';
import { PRECISIONS, type Precision, type WeightEntry } from '../../src/protocol/manifest';
import { int4BlocksPerRow, int4WeightBytes } from '../../src/protocol/int4-layout';
import type { ModelSpec } from '../../src/protocol/model-spec';
import { parseImageProcessorConfig, parseModelConfig } from '../../src/convert/hf-config';
import { ExportProgressTracker, type ExportProgress } from '../../src/convert/package/export-progress';
import { checkPackageOptions, type ExportResult, writeFloatWeight, writeInt4Weight, writePackage } from '../../src/convert/package/package-writer';
import { DirectorySink } from '../../src/convert/node-directory-sink';
import type { ShardWriter } from '../../src/convert/package/shard-writer';
import { planWeights, type PlannedWeight } from '../../src/convert/package/weight-plan';
import { float32ToFloat16Bits, toFloat16Array } from '../../src/convert/quantize/float16';
import { isRandomPreset, preprocessorConfigJson, presetConfigJson, PRESETS, type RandomPreset } from './random-presets';
import { initFor, randomBf16Chunks } from './random-weights';
import { buildTokenizerFiles } from './tokenizer-files';

export interface RandomPackageOptions {
  readonly preset: RandomPreset;
  readonly precision: Precision;
  /** Unsigned 32-bit seed; the same seed, preset and precision give byte-identical packages. */
  readonly seed: number;
  readonly maxShardBytes?: number;
  /** Largest row part of a decoder linear or the embedding table (default 128 MiB; package-writer.ts). */
  readonly maxWeightPartBytes?: number;
  /** The preprocessor's max_pixels (default: the preset's); e.g. 1344×1792 needs ≥ 2408448. */
  readonly maxPixels?: number;
  /** Replace an existing `outDir` (only after the new package is complete). */
  readonly overwrite?: boolean;
  /** Progress in package bytes written. */
  readonly onProgress?: (p: ExportProgress) => void;
}

/** The RMS of uniform int4 codes −8…7: √(Σ(q²)/16) = √21.5. */
const CODE_RMS = Math.sqrt(21.5);
/** Words per generated chunk of int4 codes (16 MiB): bounds memory regardless of tensor size. */
const CHUNK_WORDS = 1 << 22;

/** Writes the random package into `outDir`. Bad options are SarashinaErrors (invalid-request). */
export async function writeRandomPackage(outDir: string, options: RandomPackageOptions): Promise<ExportResult> {
  const { preset, precision, seed } = options;
  checkOptions(options);
  const preprocessor = preprocessorConfigJson(preset);
  const minPixels = Number(preprocessor.min_pixels);
  const maxPixels = options.maxPixels ?? PRESETS[preset].maxPixels;
  checkPackageOptions(options);
  const sink = new DirectorySink(outDir, options.overwrite === undefined ? {} : { overwrite: options.overwrite });
  await sink.checkTarget();
  const spec = parseModelConfig(presetConfigJson(preset));
  const imageProcessor = parseImageProcessorConfig({ ...preprocessor, max_pixels: maxPixels, size: { min_pixels: minPixels, max_pixels: maxPixels } });
  const dims = PRESETS[preset];
  const files = buildTokenizerFiles({ vocabSize: dims.text.vocabSize, imageStartId: dims.imageStartId, imageEndId: dims.imageEndId, seed });
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
  const plan = planWeights(spec, precision, options);
  const progress = new ExportProgressTracker(
    plan.reduce((n, w) => n + packageBytes(w), 0),
    options.onProgress,
  );
  return writePackage(
    {
      spec,
      imageProcessor,
      tokenizerBytes: utf8(files['tokenizer.json']),
      tokenizerConfigBytes: utf8(files['tokenizer_config.json']),
      chatTemplateBytes: utf8(files['chat_template.json']),
      source: `random:${preset}:seed=${seed}`,
    },
    (planned, shards) => randomWeight(spec, planned, shards, seed),
    sink,
    {
      precision,
      ...(options.maxShardBytes === undefined ? {} : { maxShardBytes: options.maxShardBytes }),
      ...(options.maxWeightPartBytes === undefined ? {} : { maxWeightPartBytes: options.maxWeightPartBytes }),
      onWeight: (w) => progress.add(packageBytes(w), w.name),
    },
  );
}

/** Rejects an unknown preset or precision, a seed that is not uint32, and max_pixels below min_pixels. */
function checkOptions(options: RandomPackageOptions): void {
  const { preset, precision, seed, maxPixels } = options;
  const minPixels = isRandomPreset(preset) ? Number(preprocessorConfigJson(preset).min_pixels) : 0;
  const problem: { message: string; details: ErrorDetails } | null = !isRandomPreset(preset)
    ? { message: `Unknown preset ${JSON.stringify(preset)}. Use tiny, odd, 8b or 14b.`, details: { preset: String(preset) } }
    : !PRECISIONS.includes(precision)
      ? { message: `Unknown precision ${JSON.stringify(precision)}. Use one of ${PRECISIONS.join(', ')}.`, details: { precision: String(precision) } }
      : !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)
        ? { message: `Seed ${seed} is not an unsigned 32-bit integer. Pass a whole number from 0 to 4294967295.`, details: { seed } }
        : maxPixels !== undefined && !(Number.isInteger(maxPixels) && maxPixels >= minPixels)
          ? { message: `maxPixels ${maxPixels} is not a whole number ≥ min_pixels ${minPixels}. Pass e.g. ${1344 * 1792} for a 1344×1792 image.`, details: { maxPixels } }
          : null;
  if (problem) throw new SarashinaError('invalid-request', problem.message, problem.details);
}

/** Bytes `planned` takes in the package (codes + scales for int4). */
function packageBytes(planned: PlannedWeight): number {
  const count = planned.shape.reduce((a, b) => a * b, 1);
  const conv = planned.conversion;
  const floatBytes = (dtype: string): number => (dtype === 'float32' ? 4 : 2);
  if (conv.kind === 'float') return count * floatBytes(conv.dtype);
  const [rows = 1, cols = 1] = planned.shape;
  const { packedBytes, scalesBytes } = int4WeightBytes(rows, cols, floatBytes(conv.scaleDtype));
  return packedBytes + scalesBytes;
}

async function randomWeight(spec: ModelSpec, planned: PlannedWeight, shards: ShardWriter, seed: number): Promise<Record<string, WeightEntry>> {
  const count = planned.shape.reduce((a, b) => a * b, 1);
  const init = initFor(spec, planned.source, planned.shape);
  const conv = planned.conversion;
  if (conv.kind === 'float') {
    const toPackage = function* (): Generator<Uint8Array> {
      for (const bf16 of randomBf16Chunks(planned.source, count, init, seed)) {
        // bf16 is the top half of an f32.
        const halves = new Uint16Array(bf16.buffer, bf16.byteOffset, bf16.length / 2);
        const f32 = new Float32Array(halves.length);
        const bits = new Uint32Array(f32.buffer);
        for (let i = 0; i < halves.length; i++) bits[i] = (halves[i] ?? 0) << 16;
        yield conv.dtype === 'float32' ? new Uint8Array(f32.buffer) : new Uint8Array(toFloat16Array(f32).buffer);
      }
    };
    return writeFloatWeight(shards, planned, conv.dtype, toPackage());
  }
  const words = xorshift128(tensorSeed(seed, planned.name));
  const [rows = 1, cols = 1] = planned.shape;
  const blockCount = rows * int4BlocksPerRow(cols);
  const scale = init.std / CODE_RMS;
  const scales = conv.scaleDtype === 'float32' ? new Float32Array(blockCount) : new Uint16Array(blockCount);
  const chunk = new Uint32Array(CHUNK_WORDS);
  // Scales first, so the codes' stream does not depend on the chunk size.
  words(chunk.subarray(0, Math.min(CHUNK_WORDS, blockCount)));
  for (let b = 0; b < blockCount; b += CHUNK_WORDS) {
    const n = Math.min(CHUNK_WORDS, blockCount - b);
    const draws = chunk.subarray(0, n);
    if (b > 0) words(draws);
    for (let i = 0; i < n; i++) {
      const w = draws[i] ?? 0;
      // bit 0: sign; bits 8…31: magnitude jitter in [0.9, 1.1).
      const value = (w & 1 ? -scale : scale) * (0.9 + 0.2 * ((w >>> 8) / 0x1000000));
      scales[b + i] = scales instanceof Float32Array ? value : float32ToFloat16Bits(value);
    }
  }
  const codes = function* (): Generator<Uint8Array> {
    // Whole rows of blocks, a partial last block's padding random too: readers never multiply it (int4-layout.ts).
    const totalWords = int4WeightBytes(rows, cols, 0).packedBytes / 4;
    for (let w = 0; w < totalWords; w += CHUNK_WORDS) {
      const part = chunk.subarray(0, Math.min(CHUNK_WORDS, totalWords - w));
      words(part);
      yield new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    }
  };
  return writeInt4Weight(shards, planned, codes(), scales);
}

/** A per-tensor 32-bit seed: the name's FNV-1a hash mixed with the seed (so tensors are independent). */
function tensorSeed(seed: number, name: string): number {
  let h = Math.imul(seed >>> 0, 0x85ebca6b) ^ 0x2c1b3c6d;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Marsaglia's xorshift128 seeded by splitmix32; the returned function fills an array with its next words. */
function xorshift128(seed: number): (out: Uint32Array) => void {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
  let x = splitmix();
  let y = splitmix();
  let z = splitmix();
  let w = splitmix() | 1;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = w ^ (w >>> 19) ^ (t ^ (t >>> 8));
      out[i] = w;
    }
  };
}
