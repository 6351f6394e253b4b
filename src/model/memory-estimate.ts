/**
 * How much GPU memory a variant needs at a given context, before anything is downloaded: a pure estimate from
 * the model's shape, the variant's dtypes and its weight bytes, and the budget it is compared with.
 *
 *   weights      the sum of the weight buffers (the manifest's or the index's weight bytes)
 *   KV cache     2 · layers · kvHeads · headDim · context · KV element bytes (f32, or f16 in q4f16)
 *   activations  fixed buffers (RoPE tables [context, headDim/2] ×2, and their f32 copies for the decode kernels
 *                when the graph's are f16, logits, embedder rows, sampler ids, decode vectors, the decode attention's
 *                per-layer split-K partials)
 *                + what onnxruntime-web keeps after the first prefill: its buffer cache holds the decoder graph's
 *                  intermediates of a prefill run (chunk rows of 5 × hidden, q/k/v, 3 × intermediate) and rounds
 *                  them up to buckets, and never gives them back: ORT_CACHE_FACTOR × those rows
 *                + the vision tower on one image at the pixel budget (pixels, 3 × [N, E], qkv, MLP, RoPE tables,
 *                  features: VisionEncoder's buffers, in the vision dtype), allocated on top of that cache.
 * Checked against allocations counted on the device (src/testing/gpu-tracker.ts, ORT's included): the 8B q4f32 in
 * the H200 bench (bench/results/model-8b-h200-kernels-run5.json) and the tiny model on lavapipe and SwiftShader
 * (memory-estimate.test.ts). ORT's GroupQueryAttention allocated no [chunk × context] score matrix on any of them.
 */
import { maxAttentionChunks } from '../../shaders/decoder/decode-attention/decode-attention';
import type { MemoryEstimate } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { ModelSpec } from '../protocol/model-spec';
import { floatBytes, type PrecisionDtypes } from '../protocol/precision-dtypes';

const GiB = 2 ** 30;
/**
 * The budget when nothing better is known: 8 GiB. WebGPU reports no memory size; 8 GB is the memory of the most
 * common discrete GPUs and about two thirds of a 12–16 GB unified-memory laptop (Apple silicon, integrated GPUs),
 * the share the OS lets the GPU use. With it the 8B fits q4f16 at its full 4096 tokens and q4f32 at a shorter context.
 */
export const DEFAULT_MEMORY_BUDGET_BYTES = 8 * GiB;
/** navigator.deviceMemory is RAM in GiB rounded down to a power of two and capped at 8: below 8 it is a real bound. */
const DEVICE_MEMORY_CAP_GIB = 8;

export interface MemoryBudget {
  readonly bytes: number;
  /** engine.info.memoryBudgetReason. */
  readonly reason: string;
}

export interface MemoryBudgetOptions {
  /** EngineOptions.memoryBudgetBytes. */
  readonly memoryBudgetBytes?: number;
  /** navigator.deviceMemory where the browser reports it (Chromium, secure contexts), else null. */
  readonly deviceMemoryGiB?: number | null;
}

/**
 * The memory budget: the caller's, else half of navigator.deviceMemory when it reports less than 8 GiB (a device
 * whose GPU shares that RAM with the OS and the browser), else DEFAULT_MEMORY_BUDGET_BYTES. Adapter limits bound
 * single buffers, not the total, so they enter the preflight per buffer instead. A budget that is not a positive
 * integer → 'invalid-request'.
 */
export function memoryBudget(options: MemoryBudgetOptions): MemoryBudget {
  const { memoryBudgetBytes: requested, deviceMemoryGiB } = options;
  if (requested !== undefined) {
    if (!Number.isSafeInteger(requested) || requested <= 0) {
      throw new SarashinaError('invalid-request', `memoryBudgetBytes must be a positive integer number of bytes, got ${requested}. Pass e.g. ${4 * GiB} for 4 GiB.`, {
        memoryBudgetBytes: String(requested),
      });
    }
    return { bytes: requested, reason: `memoryBudgetBytes ${formatGiB(requested)}` };
  }
  if (typeof deviceMemoryGiB === 'number' && deviceMemoryGiB > 0 && deviceMemoryGiB < DEVICE_MEMORY_CAP_GIB) {
    const bytes = Math.floor((deviceMemoryGiB * GiB) / 2);
    return { bytes, reason: `half of the device's ${deviceMemoryGiB} GiB RAM (navigator.deviceMemory); WebGPU reports no GPU memory size` };
  }
  return { bytes: DEFAULT_MEMORY_BUDGET_BYTES, reason: `the default ${formatGiB(DEFAULT_MEMORY_BUDGET_BYTES)}: WebGPU reports no GPU memory size` };
}

/** What the estimate reads: the model's shape, the variant's dtypes and weight bytes, the request limits. */
export interface MemoryEstimateInput {
  readonly model: ModelSpec;
  readonly dtypes: PrecisionDtypes;
  /** Bytes of all weight buffers. */
  readonly weightBytes: number;
  /** Pixels of one image at the engine's pixel budget. */
  readonly maxPixels: number;
  /** Prompt tokens per decoder-graph run (the adapter's; capped by the context here). */
  readonly prefillChunkTokens: number;
}

/** K and V bytes of every layer for `contextTokens` positions. */
export function kvCacheBytes(model: ModelSpec, kvElementBytes: number, contextTokens: number): number {
  const t = model.text;
  return 2 * t.numLayers * t.numKvHeads * t.headDim * contextTokens * kvElementBytes;
}

/** The estimate of GPU memory for `input` at `contextTokens` (see the file header for what each part holds). */
export function estimateMemory(input: MemoryEstimateInput, contextTokens: number): MemoryEstimate {
  const { model, dtypes } = input;
  const t = model.text;
  const a = floatBytes(dtypes.activation);
  const chunk = Math.max(1, Math.min(input.prefillChunkTokens, contextTokens));
  const kv = kvCacheBytes(model, floatBytes(dtypes.kvCache), contextTokens);
  const fixed =
    2 * contextTokens * (t.headDim / 2) * a + // RoPE cos/sin tables
    (a === 4 ? 0 : 2 * contextTokens * (t.headDim / 2) * 4) + // the decode step's f32 copies of f16 ones (q4f16)
    t.vocabSize * 4 + // logits
    chunk * (t.hiddenSize * a + 4) + t.hiddenSize * a + // embedder rows and ids, the ORT decode row
    contextTokens * 4 + // sampler: previous ids
    4 * (t.hiddenSize * (2 * t.numLayers + 3) + (t.numHeads + 2 * t.numKvHeads) * t.headDim + t.numHeads * t.headDim + t.intermediateSize) + // decode-step vectors
    t.numLayers * 4 * (t.numHeads * maxAttentionChunks(contextTokens, t.numHeads) * (t.headDim + 2) + t.numHeads) + // attention partials
    ORT_SMALL_BUFFERS_BYTES;
  const activations = fixed + ortPrefillCacheBytes(model, a, chunk) + visionPeakBytes(model, floatBytes(dtypes.floatWeights), input.maxPixels);
  return { weightsBytes: input.weightBytes, kvCacheBytes: kv, activationsBytes: activations, totalBytes: input.weightBytes + kv + activations };
}

/**
 * The largest context in [1, maxTokens] whose estimate fits `budgetBytes`, or 0 when not even one token does.
 * The estimate grows with the context, so a binary search finds it.
 */
export function largestContextWithin(input: MemoryEstimateInput, budgetBytes: number, maxTokens: number): number {
  let lo = 0;
  let hi = maxTokens;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (estimateMemory(input, mid).totalBytes <= budgetBytes) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The vision encoder's buffers for one image of `maxPixels` (VisionEncoder.recordTower), its features included. */
function visionPeakBytes(model: ModelSpec, v: number, maxPixels: number): number {
  const s = model.vision;
  const merge = s.spatialMergeSize ** 2;
  // Whole merge windows of patches, at most maxPixels of them (the resize keeps h·w·P² ≤ maxPixels).
  const patches = Math.floor(maxPixels / (s.patchSize ** 2 * merge)) * merge;
  const merged = patches / merge;
  const patchDim = s.inChannels * s.temporalPatchSize * s.patchSize ** 2;
  return (
    patches * patchDim * v + // pixels
    3 * patches * s.embedDim * v + // hidden, normed, attn
    Math.max(patches * 3 * s.embedDim, merged * s.outHiddenSize) * v + // qkv (the merger's projected)
    Math.max(patches * s.mlpDim, merged * s.embedDim * merge) * v + // mlp (the merger's merged)
    2 * patches * (s.embedDim / s.numHeads / 2) * 4 + // RoPE cos/sin, f32
    merged * s.outHiddenSize * v // features
  );
}

/**
 * onnxruntime-web's buffer cache over the decoder graph's runs, relative to one run's row intermediates: measured
 * 1.83× on the tiny model (lavapipe and SwiftShader, f32 and f16, prompts of 300–3500 tokens in runs of 512) and
 * 2.05× for the 8B in the H200 bench (its peak less the vision buffers of the 12288-patch image encoded after the
 * prefills); 2.1 covers both.
 */
const ORT_CACHE_FACTOR = 2.1;
/** ORT's own small buffers (sequence lengths, positions, per-node scratch): 64–120 KB above the row model on the tiny model. */
const ORT_SMALL_BUFFERS_BYTES = 256 * 1024;

/** What ORT keeps of prefill runs of `chunk` rows: embeddings and norms, q/k/v, attention and MLP outputs. */
function ortPrefillCacheBytes(model: ModelSpec, a: number, chunk: number): number {
  const t = model.text;
  return Math.ceil(ORT_CACHE_FACTOR * chunk * a * (5 * t.hiddenSize + (t.numHeads + 2 * t.numKvHeads) * t.headDim + 3 * t.intermediateSize));
}

/** Bytes as GiB with two decimals ("7.32 GiB"), or MiB below 1 GiB. */
export function formatGiB(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
