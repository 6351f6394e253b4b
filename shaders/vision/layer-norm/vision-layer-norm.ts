/**
 * LayerNorm over the last axis for the vision tower (vision-layer-norm.wgsl), over f32 or f16 storage: one
 * descriptor per storage type, one workgroup per row.
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import { VISION_STORAGE_PRELUDE, type VisionStorage } from '../linear/vision-linear';
import visionLayerNormWgsl from './vision-layer-norm.wgsl?raw';

const PARAMS = new UniformStruct('Params', { rows: 'u32', dim: 'u32', eps: 'f32' });

const defineVariant = (storage: VisionStorage) =>
  defineKernel({
    name: `vision-layer-norm/${storage}`,
    code: `${VISION_STORAGE_PRELUDE[storage]}\n${visionLayerNormWgsl}`,
    constants: ['WG'],
    params: PARAMS,
    bindings: ['x', 'gamma', 'beta', 'y'],
  });

const VARIANTS = { f32: defineVariant('f32'), f16: defineVariant('f16') } as const;

/** The descriptor per storage type: the storage prelude, then vision-layer-norm.wgsl (one object per variant). */
export function visionLayerNormKernel(storage: VisionStorage): (typeof VARIANTS)[VisionStorage] {
  return VARIANTS[storage];
}

export interface VisionLayerNormBuffers {
  /** [rows, dim] */
  readonly x: GPUBuffer;
  /** [dim] each */
  readonly gamma: GPUBuffer;
  readonly beta: GPUBuffer;
  /** [rows, dim]; must not alias x. */
  readonly y: GPUBuffer;
}

export interface VisionLayerNormShape {
  readonly rows: number;
  /** A multiple of 4. */
  readonly dim: number;
  readonly eps: number;
}

/** Invocations per workgroup (one workgroup per row); within WebGPU's default limits. */
const WORKGROUP = 128;

/**
 * Records y = LayerNorm(x) · gamma + beta over the last axis into `pass` and returns the dispatch (the caller
 * destroys it after submission), or null for zero rows (nothing recorded). Throws `invalid-model` for a dim that
 * is not a multiple of 4 and `internal` for buffers smaller than the shape.
 */
export function encodeVisionLayerNorm(
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionLayerNormBuffers,
  shape: VisionLayerNormShape,
  options: { readonly storage?: VisionStorage } = {},
): KernelDispatch | null {
  const storage = options.storage ?? 'f32';
  const elementBytes = storage === 'f16' ? 2 : 4;
  const { rows, dim, eps } = shape;
  if (!(dim > 0 && dim % 4 === 0)) throw new SarashinaError('invalid-model', `vision-layer-norm: dim ${dim} must be a positive multiple of 4. Check vision_config.`, { dim });
  const need: [string, GPUBuffer, number][] = [
    ['x', buffers.x, rows * dim * elementBytes],
    ['gamma', buffers.gamma, dim * elementBytes],
    ['beta', buffers.beta, dim * elementBytes],
    ['y', buffers.y, rows * dim * elementBytes],
  ];
  for (const [name, buffer, sizeBytes] of need) {
    if (buffer.size < sizeBytes) {
      throw new SarashinaError('internal', `vision-layer-norm: buffer ${name} holds ${buffer.size} bytes but [${rows}, ${dim}] needs ${sizeBytes}. Allocate it from the same shape.`, {
        buffer: name,
        sizeBytes: buffer.size,
        neededBytes: sizeBytes,
      });
    }
  }
  if (rows === 0) return null;
  return kernels.record(pass, VARIANTS[storage], {
    constants: { WG: WORKGROUP },
    params: { rows, dim, eps },
    buffers,
    workgroups: rows,
  });
}
