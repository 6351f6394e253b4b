import visionLayerNormWgsl from '../../shaders/vision-layer-norm.wgsl?raw';
import { bindBuffers, dispatchSize, type KernelCache, type KernelSource, uniformBuffer } from '../gpu/kernel';
import { SarashinaError } from '../protocol/errors';
import { VISION_STORAGE_PRELUDE, type VisionStorage } from './vision-linear';

/** The kernel per storage type: the storage prelude, then shaders/vision-layer-norm.wgsl. */
export const VISION_LAYER_NORM: Readonly<Record<VisionStorage, KernelSource>> = {
  f32: { name: 'vision-layer-norm-f32', code: `${VISION_STORAGE_PRELUDE.f32}\n${visionLayerNormWgsl}` },
  f16: { name: 'vision-layer-norm-f16', code: `${VISION_STORAGE_PRELUDE.f16}\n${visionLayerNormWgsl}` },
};

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
 * Records y = LayerNorm(x) · gamma + beta over the last axis (shaders/vision-layer-norm.wgsl) into `pass`.
 * Returns the uniform buffer it created; the caller destroys it after submission. Throws `invalid-model` for a
 * dim that is not a multiple of 4 and `internal` for buffers smaller than the shape.
 */
export function encodeVisionLayerNorm(
  device: GPUDevice,
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionLayerNormBuffers,
  shape: VisionLayerNormShape,
  options: { readonly storage?: VisionStorage } = {},
): GPUBuffer {
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
  const words = new Uint32Array([rows, dim, 0, 0]);
  new Float32Array(words.buffer)[2] = eps;
  const params = uniformBuffer(device, 'vision-layer-norm.params', words);
  if (rows === 0) return params;
  const pipeline = kernels.pipeline(VISION_LAYER_NORM[storage], { WG: WORKGROUP });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindBuffers(device, pipeline, [params, buffers.x, buffers.gamma, buffers.beta, buffers.y]));
  const [x, y] = dispatchSize(rows, device.limits.maxComputeWorkgroupsPerDimension);
  pass.dispatchWorkgroups(x, y);
  return params;
}
