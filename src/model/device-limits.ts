/**
 * The buffer-size limits a model's plan needs from the device, so that createEngine requests those instead of the
 * adapter's maxima. A WebGPU device gets the spec's defaults (128 MiB per storage binding, 256 MiB per buffer)
 * unless it asks for more, and every buffer the engine allocates is bound whole, so the binding limit it needs is its
 * largest buffer:
 *   weights        the largest weight buffer (a row part for weights stored split), 4-byte rounded as allocated
 *   KV cache       one layer's K (or V) buffer: context · kvHeads · headDim · KV element bytes
 *   vision         the tower's widest activation for every image a request can hold: the images' tokens fit the
 *                  context, so at most merge² · context patches (VisionEncoder refuses wider ones, image-too-large)
 *   prefill        onnxruntime-web's widest row intermediate of one run: chunk · max(intermediate, q+k+v, hidden)
 *   logits         vocab · 4
 * never below the defaults, never above the adapter's (the preflight has checked the weights and the KV cache; a
 * vision buffer over the adapter's limit is refused per request, as before). The ORT-only vision baseline holds
 * [heads, N, N] scores sized from the device's limit (defaultMaxBaselinePatches): it gets the adapter's maxima.
 * Pure.
 */
import type { GpuBufferLimits, GpuCapabilities } from '../gpu/gpu-context';
import type { ModelSpec } from '../protocol/model-spec';
import { floatBytes } from '../protocol/precision-dtypes';
import { summarizeManifest } from '../protocol/variant-index';
import type { PackagePlan } from './package-plan';
import { visionWidestActivationBytes } from './vision-encoder';

/** WebGPU's default maxStorageBufferBindingSize and maxBufferSize: what a device has without asking. */
export const WEBGPU_DEFAULT_LIMITS: GpuBufferLimits = { maxStorageBufferBindingSize: 134_217_728, maxBufferSize: 268_435_456 };

/** What the largest buffer depends on: the model, its largest weight buffer and the plan's sizes. */
export interface BufferSizeInput {
  readonly model: ModelSpec;
  /** The variant's largest weight buffer (VariantSummary.largestWeight). */
  readonly largestWeightBytes: number;
  readonly contextTokens: number;
  readonly kvElementBytes: number;
  /** Bytes of one activation element of the prefill graph (4, or 2 in q4f16). */
  readonly activationBytes: number;
  readonly prefillChunkTokens: number;
}

/** The largest single buffer a model with `input` allocates (see the file header), in bytes. */
export function largestPlannedBufferBytes(input: BufferSizeInput): number {
  const { model } = input;
  const t = model.text;
  const weight = Math.ceil(input.largestWeightBytes / 4) * 4;
  const kvLayer = input.contextTokens * t.numKvHeads * t.headDim * input.kvElementBytes;
  const vision = visionWidestActivationBytes(model.vision, model.vision.spatialMergeSize ** 2 * input.contextTokens);
  const prefillRow = input.prefillChunkTokens * Math.max(t.intermediateSize, (t.numHeads + 2 * t.numKvHeads) * t.headDim, t.hiddenSize) * input.activationBytes;
  return Math.max(weight, kvLayer, vision, prefillRow, t.vocabSize * 4);
}

/** The buffer limits to request for `plan` on an adapter offering `caps` (see the file header). */
export function planBufferLimits(
  plan: Pick<PackagePlan, 'manifest' | 'contextTokens' | 'kvElementBytes' | 'dtypes' | 'prefillChunkTokens' | 'visionPath'>,
  caps: Pick<GpuCapabilities, 'maxStorageBufferBindingSize' | 'maxBufferSize'>,
): GpuBufferLimits {
  if (plan.visionPath === 'ort-baseline') return { maxStorageBufferBindingSize: caps.maxStorageBufferBindingSize, maxBufferSize: caps.maxBufferSize };
  const needed = largestPlannedBufferBytes({
    model: plan.manifest.model,
    largestWeightBytes: summarizeManifest(plan.manifest).largestWeight.sizeBytes,
    contextTokens: plan.contextTokens,
    kvElementBytes: plan.kvElementBytes,
    activationBytes: floatBytes(plan.dtypes.activation),
    prefillChunkTokens: plan.prefillChunkTokens,
  });
  return bufferLimitsFor(needed, caps);
}

/** Limits for a largest buffer of `neededBytes`: at least WebGPU's defaults, at most the adapter's. */
export function bufferLimitsFor(neededBytes: number, caps: Pick<GpuCapabilities, 'maxStorageBufferBindingSize' | 'maxBufferSize'>): GpuBufferLimits {
  const binding = Math.min(caps.maxStorageBufferBindingSize, Math.max(WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize, neededBytes));
  // A buffer is at least as large as its binding.
  return { maxStorageBufferBindingSize: binding, maxBufferSize: Math.min(caps.maxBufferSize, Math.max(WEBGPU_DEFAULT_LIMITS.maxBufferSize, binding)) };
}
