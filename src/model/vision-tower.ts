/**
 * The vision tower as our own kernels (the 'kernels' vision path):
 *   patch embed   pixel_values [N, C·T·P·P] → hidden [N, E]           (Linear, no bias)
 *   block b       hidden → hidden: LN1 → qkv → attention (2-D RoPE) → proj + residual →
 *                 LN2 → fc1 + QuickGELU → fc2 + residual                (7 dispatches)
 *   merger        hidden → image_features [N/4, H]: ln_q → (4 rows as one) mlp.0 + GELU → mlp.2 → norm
 * Weights are read by their checkpoint names (WEIGHTS) straight from the model's GPU buffers, in Hugging Face's
 * [out, in] layout. Every function records into a compute pass and returns the dispatches it recorded, which the
 * caller destroys after submitting.
 */
import { encodeVisionAttention } from '../../shaders/vision/attention/vision-attention';
import { encodeVisionAttentionMma } from '../../shaders/vision/attention/vision-attention-mma';
import { chooseVisionAttentionMma, type SubgroupMatrixSupport, type VisionAttentionMmaPlan } from '../../shaders/vision/attention/vision-attention-mma-plan';
import type { VisionAttentionTiling } from '../../shaders/vision/attention/vision-attention-tiling';
import { encodeVisionLayerNorm } from '../../shaders/vision/layer-norm/vision-layer-norm';
import { encodeVisionLinear, type VisionLinearEpilogue, type VisionLinearLimits, type VisionLinearTiling, type VisionStorage } from '../../shaders/vision/linear/vision-linear';
import { encodeVisionLinearMma, type VisionLinearMmaCapabilities, type VisionLinearMmaPlan, visionLinearMmaPlan } from '../../shaders/vision/linear/vision-linear-mma';
import type { KernelCache, KernelDispatch } from '../gpu/kernel';
import { SarashinaError } from '../protocol/errors';
import type { ModelSpec } from '../protocol/model-spec';
import { type AffineNames, WEIGHTS } from '../protocol/weight-names';

/**
 * Whether the tower's attention runs on subgroup matrices (tensor cores: vision-attention-mma) where the device
 * allows it (chooseVisionAttentionMma). Off until its GPU check (bench/gpu/vision-attention-mma.ts) has passed on
 * the H200 through Dawn; the plain kernel runs meanwhile, and wherever there is no plan.
 */
export const VISION_ATTENTION_MMA_ENABLED = false;

/** Which attention kernel the tower records: 'auto' follows VISION_ATTENTION_MMA_ENABLED and the device. */
export type VisionAttentionPath = 'auto' | 'plain' | 'mma';

/** Where the tower finds its weights (ModelWeights satisfies this). */
export interface VisionWeightSource {
  get(name: string): { readonly buffer: GPUBuffer; readonly dtype: string; readonly shape: readonly number[] };
}

/** Everything a recording needs besides its activations. */
export interface VisionTowerContext {
  readonly kernels: KernelCache;
  readonly weights: VisionWeightSource;
  readonly vision: ModelSpec['vision'];
  readonly storage: VisionStorage;
  /** Forced tilings of the dense layers (bench); default: chosen per shape. */
  readonly tiling?: VisionLinearTiling;
  /**
   * The dense layers on subgroup matrices (vision-linear-mma) with this plan; null or absent: vision-linear.
   * The engine sets it from visionTowerLinearMma; a bench may force one.
   */
  readonly linearMma?: VisionLinearMmaPlan | null;
  /** Forced attention tiling (bench); default: chooseVisionAttentionTiling. */
  readonly attentionTiling?: VisionAttentionTiling;
  /** The device's subgroup-matrix support (GpuCapabilities); absent: the plain attention kernel. */
  readonly subgroupMatrix?: SubgroupMatrixSupport;
  /** Default 'auto'; 'mma' forces the subgroup-matrix kernel (bench; throws without a plan), 'plain' the other. */
  readonly attentionPath?: VisionAttentionPath;
}

/** The subgroup-matrix attention plan the tower uses for heads of `headDim`, or null for the plain kernel. */
export function visionAttentionMmaPlan(c: VisionTowerContext, headDim: number): VisionAttentionMmaPlan | null {
  const path = c.attentionPath ?? 'auto';
  if (path === 'plain' || (path === 'auto' && !VISION_ATTENTION_MMA_ENABLED)) return null;
  const choice = c.subgroupMatrix ? chooseVisionAttentionMma(c.subgroupMatrix, headDim) : { plan: null, reason: 'the tower was given no subgroup-matrix support' };
  if (!choice.plan && path === 'mma') {
    throw new SarashinaError('gpu-feature-missing', `The subgroup-matrix vision attention cannot run here: ${choice.reason}. Use attentionPath 'auto' or 'plain'.`, { headDim });
  }
  return choice.plan;
}

/**
 * The storages whose dense layers the engine runs on subgroup matrices where the device has them. Empty until the
 * kernel has passed its GPU check (bench/vision-linear-mma.bench.ts on the H200): then ['f16'] (q4f16 packages), and
 * 'f32' too if rounding q4f32's f32 activations and weights to f16 operands is acceptable (the check prints that
 * error next to the current kernel's).
 */
export const VISION_LINEAR_MMA_STORAGES: readonly VisionStorage[] = [];

/** The engine's subgroup-matrix plan for the dense layers: null unless `storage` is enabled and the device allows one. */
export function visionTowerLinearMma(
  caps: VisionLinearMmaCapabilities,
  limits: VisionLinearLimits,
  storage: VisionStorage,
  enabled: readonly VisionStorage[] = VISION_LINEAR_MMA_STORAGES,
): VisionLinearMmaPlan | null {
  return enabled.includes(storage) ? visionLinearMmaPlan(caps, limits) : null;
}

/** Activations of one block: `hidden` is updated in place; the others are scratch. */
export interface VisionBlockBuffers {
  /** [N, E] */
  readonly hidden: GPUBuffer;
  /** [N, E] */
  readonly normed: GPUBuffer;
  /** [N, 3E] */
  readonly qkv: GPUBuffer;
  /** [N, E] */
  readonly attn: GPUBuffer;
  /** [N, mlpDim] */
  readonly mlp: GPUBuffer;
  /** Attention tables (see encodeVisionAttention). */
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  readonly cuSeqlens: GPUBuffer;
}

function weight(c: VisionTowerContext, name: string, elements: number): GPUBuffer {
  const w = c.weights.get(name);
  const want = c.storage === 'f16' ? 'float16' : 'float32';
  const count = w.shape.reduce((a, b) => a * b, 1);
  if (w.dtype !== want || count !== elements) {
    throw new SarashinaError('invalid-model', `Vision weight ${name} is ${w.dtype} [${w.shape.join(', ')}]; the vision kernels need ${want} with ${elements} elements. Re-export the package.`, {
      weight: name,
      dtype: w.dtype,
    });
  }
  return w.buffer;
}

/** The weight (and bias, when named) of a Linear. */
type LinearNames = AffineNames | { readonly weight: string; readonly bias?: undefined };

function linear(
  c: VisionTowerContext,
  pass: GPUComputePassEncoder,
  names: LinearNames,
  io: { x: GPUBuffer; y: GPUBuffer },
  shape: { rows: number; inDim: number; outDim: number },
  epilogue: VisionLinearEpilogue,
): KernelDispatch | null {
  const buffers = {
    x: io.x,
    y: io.y,
    weight: weight(c, names.weight, shape.inDim * shape.outDim),
    ...(names.bias ? { bias: weight(c, names.bias, shape.outDim) } : {}),
  };
  if (c.linearMma) return encodeVisionLinearMma(c.kernels, pass, buffers, shape, { plan: c.linearMma, epilogue, storage: c.storage });
  return encodeVisionLinear(c.kernels, pass, buffers, shape, { epilogue, storage: c.storage, ...(c.tiling ? { tiling: c.tiling } : {}) });
}

function layerNorm(c: VisionTowerContext, pass: GPUComputePassEncoder, names: AffineNames, io: { x: GPUBuffer; y: GPUBuffer }, shape: { rows: number; dim: number; eps: number }): KernelDispatch | null {
  const buffers = { ...io, gamma: weight(c, names.weight, shape.dim), beta: weight(c, names.bias, shape.dim) };
  return encodeVisionLayerNorm(c.kernels, pass, buffers, shape, { storage: c.storage });
}

/** The dispatches that were recorded (zero-row layers record none). */
function recorded(dispatches: readonly (KernelDispatch | null)[]): KernelDispatch[] {
  return dispatches.filter((d): d is KernelDispatch => d !== null);
}

/** Patch values per patch: C · T · P · P. */
export function visionPatchDim(v: ModelSpec['vision']): number {
  return v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
}

/** 'vision-patch-embed': pixels [rows, C·T·P·P] → hidden [rows, E] (the stride = kernel Conv3d as a Linear). */
export function encodeVisionPatchEmbed(c: VisionTowerContext, pass: GPUComputePassEncoder, io: { pixels: GPUBuffer; hidden: GPUBuffer }, rows: number): KernelDispatch[] {
  const shape = { rows, inDim: visionPatchDim(c.vision), outDim: c.vision.embedDim };
  return recorded([linear(c, pass, { weight: WEIGHTS.patchEmbed }, { x: io.pixels, y: io.hidden }, shape, 'none')]);
}

/** 'vision-block' {block}: one pre-norm transformer block, updating `buffers.hidden` in place. */
export function encodeVisionBlock(c: VisionTowerContext, pass: GPUComputePassEncoder, block: number, buffers: VisionBlockBuffers, cuSeqlens: readonly number[]): KernelDispatch[] {
  const { embedDim: E, mlpDim: M, numHeads, layerNormEps: eps } = c.vision;
  const rows = cuSeqlens[cuSeqlens.length - 1] ?? 0;
  const names = WEIGHTS.visionBlock(block);
  const { hidden, normed, qkv, attn, mlp } = buffers;
  const attentionBuffers = { qkv, cos: buffers.cos, sin: buffers.sin, cuSeqlens: buffers.cuSeqlens, out: attn };
  const attentionShape = { heads: numHeads, headDim: E / numHeads, cuSeqlens };
  const mmaPlan = visionAttentionMmaPlan(c, attentionShape.headDim);
  return recorded([
    layerNorm(c, pass, names.norm1, { x: hidden, y: normed }, { rows, dim: E, eps }),
    linear(c, pass, names.qkv, { x: normed, y: qkv }, { rows, inDim: E, outDim: 3 * E }, 'none'),
    mmaPlan
      ? encodeVisionAttentionMma(c.kernels, pass, attentionBuffers, attentionShape, { plan: mmaPlan, storage: c.storage })
      : encodeVisionAttention(c.kernels, pass, attentionBuffers, attentionShape, { storage: c.storage, ...(c.attentionTiling ? { tiling: c.attentionTiling } : {}) }),
    linear(c, pass, names.proj, { x: attn, y: hidden }, { rows, inDim: E, outDim: E }, 'residual'),
    layerNorm(c, pass, names.norm2, { x: hidden, y: normed }, { rows, dim: E, eps }),
    linear(c, pass, names.fc1, { x: normed, y: mlp }, { rows, inDim: E, outDim: M }, 'quick-gelu'),
    linear(c, pass, names.fc2, { x: mlp, y: hidden }, { rows, inDim: M, outDim: E }, 'residual'),
  ]);
}

/** Scratch and output of the merger. */
export interface VisionMergerBuffers {
  /** [N, E], read only. */
  readonly hidden: GPUBuffer;
  /** [N, E] scratch (ln_q output, read as [N/4, 4E]). */
  readonly normed: GPUBuffer;
  /** [N/4, 4E] scratch. */
  readonly merged: GPUBuffer;
  /** [N/4, H] scratch. */
  readonly projected: GPUBuffer;
  /** [N/4, H] output. */
  readonly features: GPUBuffer;
}

/** 'vision-merger': PatchMerger (rows already in 2×2 window order) + Sarashina's extra LayerNorm. */
export function encodeVisionMerger(c: VisionTowerContext, pass: GPUComputePassEncoder, buffers: VisionMergerBuffers, rows: number): KernelDispatch[] {
  const { embedDim: E, spatialMergeSize, outHiddenSize: H, layerNormEps, projectorNormEps } = c.vision;
  const group = E * spatialMergeSize ** 2;
  const merged = rows / spatialMergeSize ** 2;
  const { lnQ, fc1, fc2 } = WEIGHTS.merger;
  return recorded([
    layerNorm(c, pass, lnQ, { x: buffers.hidden, y: buffers.normed }, { rows, dim: E, eps: layerNormEps }),
    linear(c, pass, fc1, { x: buffers.normed, y: buffers.merged }, { rows: merged, inDim: group, outDim: group }, 'gelu'),
    linear(c, pass, fc2, { x: buffers.merged, y: buffers.projected }, { rows: merged, inDim: group, outDim: H }, 'none'),
    layerNorm(c, pass, WEIGHTS.projectorNorm, { x: buffers.projected, y: buffers.features }, { rows: merged, dim: H, eps: projectorNormEps }),
  ]);
}
