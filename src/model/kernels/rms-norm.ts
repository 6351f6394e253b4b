/** RMSNorm (optionally with the residual add fused in front); shaders/rms-norm.wgsl. */
import rmsNormWgsl from '../../../shaders/rms-norm.wgsl?raw';
import type { KernelCache, KernelSource } from '../../gpu/kernel';
import { packWords, type PreparedKernel, prepareKernel } from './prepared-kernel';

const WORKGROUP_SIZE = 256;

export function rmsNormKernel(options: { residual: boolean }): KernelSource {
  return options.residual
    ? { name: 'rms-norm/residual', code: rmsNormWgsl, entryPoint: 'main_residual' }
    : { name: 'rms-norm', code: rmsNormWgsl, entryPoint: 'main' };
}

export interface RmsNormShape {
  readonly rows: number;
  readonly dim: number;
  /** rms_norm_eps (Sarashina2: 1e-5). */
  readonly eps: number;
}

export interface RmsNormBuffers {
  /** f32 [rows, dim]; with `delta`, updated in place to x + delta. */
  readonly x: GPUBuffer;
  /** f32 [dim]. */
  readonly weight: GPUBuffer;
  /** f32 [rows, dim], the output (never the same buffer as x). */
  readonly y: GPUBuffer;
  /** f32 [rows, dim]: when given, x ← x + delta first (the residual add). */
  readonly delta?: GPUBuffer;
}

/** Prepares y = RMSNorm(x (+ delta)) · weight. */
export function prepareRmsNorm(device: GPUDevice, kernels: KernelCache, buffers: RmsNormBuffers, shape: RmsNormShape): PreparedKernel {
  const residual = buffers.delta !== undefined;
  const bound = [buffers.x, buffers.weight, buffers.y];
  if (buffers.delta) bound.push(buffers.delta);
  const workgroupSize = Math.min(WORKGROUP_SIZE, device.limits.maxComputeInvocationsPerWorkgroup);
  return prepareKernel(device, kernels, {
    kernel: rmsNormKernel({ residual }),
    constants: { WORKGROUP_SIZE: workgroupSize },
    params: packWords([
      ['u32', shape.rows],
      ['u32', shape.dim],
      ['f32', shape.eps],
      ['u32', 0],
    ]),
    buffers: bound,
    workgroupCount: shape.rows,
  });
}

/** Plain-TS reference (f64): returns y and the updated x. */
export function rmsNormReference(
  x: Float32Array,
  weight: Float32Array,
  shape: RmsNormShape,
  delta?: Float32Array,
): { y: Float64Array; x: Float64Array } {
  const h = Float64Array.from(x, (v, i) => v + (delta?.[i] ?? 0));
  const y = new Float64Array(h.length);
  for (let r = 0; r < shape.rows; r++) {
    let ss = 0;
    for (let i = 0; i < shape.dim; i++) ss += (h[r * shape.dim + i] ?? 0) ** 2;
    const inv = 1 / Math.sqrt(ss / shape.dim + shape.eps);
    for (let i = 0; i < shape.dim; i++) y[r * shape.dim + i] = (h[r * shape.dim + i] ?? 0) * inv * (weight[i] ?? 0);
  }
  return { y, x: h };
}
