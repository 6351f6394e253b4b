/**
 * One plan per loaded package: everything the engine decides from (manifest, adapter capabilities, options) —
 * the precision variant and why, the dtypes it implies, the KV-cache capacity, the vision and decode paths and
 * the prefill chunking. Pure and computed once (before any download where the manifest comes first); every part
 * of the model receives it and re-derives none of it.
 */
import type { VisionArithmetic } from '../../shaders/vision/vision-numerics';
import type { GpuCapabilities } from '../gpu/gpu-context';
import { choosePrecision } from '../gpu/precision';
import type { PrecisionVariant } from '../protocol/api';
import type { PackageManifest } from '../protocol/manifest';
import { type FloatDtype, floatBytes, type PrecisionDtypes, precisionDtypes } from '../protocol/precision-dtypes';
import { decodeStepSupport } from './decode-step';
import { chooseContextTokens } from './kv-cache';
import { prefillChunkTokens } from './prefill-chunking';
import type { DecodePath, VisionPath } from './vision-language-model';

export interface PackagePlanOptions {
  /** EngineOptions.precision: a variant the caller insists on. */
  readonly precision?: PrecisionVariant;
  /** EngineOptions.contextTokens. */
  readonly contextTokens?: number;
  /** Default 'kernels'. */
  readonly visionPath?: VisionPath;
  /** Default 'kernels'; packages our decode kernels do not cover fall back to 'ort-baseline' (decodePathReason says why). */
  readonly decodePath?: DecodePath;
}

export type PlanCapabilities = Pick<
  GpuCapabilities,
  'shaderF16' | 'maxBufferSize' | 'maxStorageBufferBindingSize' | 'subgroupMinSize' | 'isFallbackAdapter'
>;

export interface PackagePlan {
  readonly manifest: PackageManifest;
  readonly precision: PrecisionVariant;
  /** Why this variant (engine.info.precisionReason). */
  readonly precisionReason: string;
  readonly dtypes: PrecisionDtypes;
  /** KV-cache capacity in tokens. */
  readonly contextTokens: number;
  /** Bytes of one K or V element. */
  readonly kvElementBytes: number;
  readonly visionPath: VisionPath;
  /** Arithmetic of the vision kernels' dense layers and attention (chooseVisionArithmetic). */
  readonly visionArithmetic: VisionArithmetic;
  readonly decodePath: DecodePath;
  /** Why the decode path is not the requested one, or null. */
  readonly decodePathReason: string | null;
  /** Prompt tokens per decoder-graph run (prefillChunkTokens of the adapter, at most the context). */
  readonly prefillChunkTokens: number;
}

/**
 * The plan for `manifest` on an adapter with `caps`. Throws the typed errors of choosePrecision
 * (gpu-feature-missing, invalid-request) and chooseContextTokens (invalid-request, gpu-limits-too-low).
 */
export function planPackage(manifest: PackageManifest, caps: PlanCapabilities, options: PackagePlanOptions = {}): PackagePlan {
  const choice = choosePrecision(caps, [manifest.precision], options.precision);
  const dtypes = precisionDtypes(choice.precision);
  const t = manifest.model.text;
  const kvElementBytes = floatBytes(dtypes.kvCache);
  const contextTokens = chooseContextTokens({ layers: t.numLayers, kvHeads: t.numKvHeads, headDim: t.headDim, elementBytes: kvElementBytes }, caps, {
    ...(options.contextTokens !== undefined ? { requested: options.contextTokens } : {}),
    maxPositionEmbeddings: t.maxPositionEmbeddings,
  });
  const requestedDecode = options.decodePath ?? 'kernels';
  const unsupported = requestedDecode === 'kernels' ? decodeStepSupport(manifest) : null;
  return {
    manifest,
    precision: choice.precision,
    precisionReason: choice.reason,
    dtypes,
    contextTokens,
    kvElementBytes,
    visionPath: options.visionPath ?? 'kernels',
    visionArithmetic: chooseVisionArithmetic(dtypes.floatWeights, caps),
    decodePath: unsupported === null ? requestedDecode : 'ort-baseline',
    decodePathReason: unsupported,
    prefillChunkTokens: Math.min(prefillChunkTokens(caps), contextTokens),
  };
}

/**
 * f16 arithmetic in the vision kernels (f16 products and short sums, f32 totals and statistics) exactly when the
 * vision weights and activations are stored in f16 and the adapter has `shader-f16`; f32 storage stays f32 math.
 */
export function chooseVisionArithmetic(visionStorage: FloatDtype, caps: Pick<PlanCapabilities, 'shaderF16'>): VisionArithmetic {
  return visionStorage === 'float16' && caps.shaderF16 ? 'f16' : 'f32';
}
