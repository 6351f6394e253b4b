/**
 * The preflight of one variant on one adapter, before anything is downloaded: can its shaders run (shader-f16),
 * does its largest weight buffer (a row part, for weights the exporter split: src/protocol/weight-parts.ts) fit one
 * binding, does a KV layer buffer fit, and which context fits the memory budget.
 * Pure; every failure is a typed SarashinaError with the numbers and what to do, returned (not thrown) so that
 * chooseVariant can try the next variant and say why it skipped this one.
 */
import type { GpuCapabilities } from '../gpu/gpu-context';
import type { MemoryEstimate } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import { floatBytes, precisionDtypes } from '../protocol/precision-dtypes';
import type { VariantIndex, VariantSummary } from '../protocol/variant-index';
import { estimateMemory, formatGiB, largestContextWithin, type MemoryBudget, type MemoryEstimateInput } from './memory-estimate';
import { prefillChunkTokens } from './prefill-chunking';

/** Below this the engine cannot hold an image prompt; the default context is refused rather than fail mid-request. */
export const MIN_CONTEXT_TOKENS = 256;

export type FitCapabilities = Pick<GpuCapabilities, 'shaderF16' | 'maxBufferSize' | 'maxStorageBufferBindingSize' | 'subgroupMinSize' | 'isFallbackAdapter'>;

export interface FitOptions {
  /** EngineOptions.contextTokens (already checked against max_position_embeddings). */
  readonly contextTokens?: number;
  /** EngineOptions.maxPixels; default the image processor's. */
  readonly maxPixels?: number;
  readonly budget: MemoryBudget;
}

export type VariantFit =
  | { readonly ok: true; readonly contextTokens: number; readonly memoryEstimate: MemoryEstimate }
  /** `short`: the clause a precisionReason gives for skipping it. */
  | { readonly ok: false; readonly error: SarashinaError; readonly short: string };

/**
 * Fits `variant` of `index` on `caps`: the requested context exactly, or the default (the model's
 * max_position_embeddings, lowered to what the KV layer-buffer limit and the memory budget allow, at least
 * MIN_CONTEXT_TOKENS). Failures: gpu-feature-missing (f16), gpu-limits-too-low (a weight or KV layer buffer
 * over maxStorageBufferBindingSize / maxBufferSize), out-of-memory (the estimate over the budget).
 */
export function fitVariant(index: VariantIndex, variant: VariantSummary, caps: FitCapabilities, options: FitOptions): VariantFit {
  const p = variant.precision;
  if (variant.needsShaderF16 && !caps.shaderF16) {
    const error = new SarashinaError(
      'gpu-feature-missing',
      `${p} computes in f16 and needs the WebGPU feature shader-f16, which this GPU/browser does not offer. Use q4f32 (the same int4 weights, f32 activations).`,
      { precision: p, feature: 'shader-f16' },
    );
    return { ok: false, error, short: `the adapter has no shader-f16, so not ${p}` };
  }
  const perBuffer = Math.min(caps.maxBufferSize, caps.maxStorageBufferBindingSize);
  const limits = `maxStorageBufferBindingSize ${caps.maxStorageBufferBindingSize}, maxBufferSize ${caps.maxBufferSize}`;
  const w = variant.largestWeight;
  if (w.sizeBytes > perBuffer) {
    const error = new SarashinaError(
      'gpu-limits-too-low',
      `${p}: weight ${w.name} is ${w.sizeBytes} bytes (${formatGiB(w.sizeBytes)}), but this GPU binds at most ${perBuffer} bytes per buffer (${limits}). ` +
        `Re-export the model with exporter 0.3.0 or later and --max-weight-part-mb ${Math.max(1, Math.floor(perBuffer / 2 ** 20))} or less (it stores larger decoder weights as row parts; ` +
        'its default, 128 MiB, fits every WebGPU adapter), or use a GPU/browser that grants larger storage bindings (desktop Chrome passes on the adapter\'s limit, often 1–4 GiB).',
      { precision: p, weight: w.name, sizeBytes: w.sizeBytes, limitBytes: perBuffer },
    );
    return { ok: false, error, short: `${p}'s ${w.name} (${formatGiB(w.sizeBytes)}) is over this adapter's ${formatGiB(perBuffer)} binding limit` };
  }
  const dtypes = precisionDtypes(p);
  const t = index.model.text;
  const kvLayerTokenBytes = t.numKvHeads * t.headDim * floatBytes(dtypes.kvCache);
  const limitTokens = Math.floor(perBuffer / kvLayerTokenBytes);
  const input: MemoryEstimateInput = {
    model: index.model,
    dtypes,
    weightBytes: variant.weightBytes,
    maxPixels: options.maxPixels ?? index.imageProcessor.maxPixels,
    prefillChunkTokens: prefillChunkTokens(caps),
  };
  const { budget } = options;
  const maxTokens = Math.min(t.maxPositionEmbeddings, limitTokens);
  const requested = options.contextTokens;
  const minTokens = requested ?? Math.min(MIN_CONTEXT_TOKENS, t.maxPositionEmbeddings);
  if (minTokens > limitTokens) {
    const error = new SarashinaError(
      'gpu-limits-too-low',
      `${p}: ${minTokens} context tokens need ${minTokens * kvLayerTokenBytes} bytes per KV-cache layer buffer, but this GPU allows ${perBuffer} (${limits}). ` +
        `Lower contextTokens to at most ${limitTokens}, or use a GPU/browser with higher limits.`,
      { precision: p, contextTokens: minTokens, maxTokens: limitTokens, limitBytes: perBuffer },
    );
    return { ok: false, error, short: `${p}'s KV-cache layer buffer at ${minTokens} tokens is over this adapter's ${formatGiB(perBuffer)} binding limit` };
  }
  const fitting = largestContextWithin(input, budget.bytes, maxTokens);
  if (fitting < minTokens) {
    const e = estimateMemory(input, minTokens);
    const parts = `weights ${formatGiB(e.weightsBytes)} + KV cache ${formatGiB(e.kvCacheBytes)} + activations ${formatGiB(e.activationsBytes)}`;
    const lower = requested !== undefined && fitting > 0 ? `lower contextTokens to at most ${fitting}, ` : '';
    const error = new SarashinaError(
      'out-of-memory',
      `${p} needs an estimated ${formatGiB(e.totalBytes)} of GPU memory at ${minTokens} context tokens (${parts}), over the memory budget of ${formatGiB(budget.bytes)} (${budget.reason}). ` +
        `To fit: ${lower}use a smaller variant or model, lower maxPixels, or raise memoryBudgetBytes if this GPU has more memory.`,
      { precision: p, contextTokens: minTokens, estimateBytes: e.totalBytes, budgetBytes: budget.bytes, maxFittingTokens: fitting },
    );
    return { ok: false, error, short: `${p} needs ~${formatGiB(e.totalBytes)} at ${minTokens} tokens, over the ${formatGiB(budget.bytes)} memory budget` };
  }
  const contextTokens = requested ?? fitting;
  return { ok: true, contextTokens, memoryEstimate: estimateMemory(input, contextTokens) };
}
