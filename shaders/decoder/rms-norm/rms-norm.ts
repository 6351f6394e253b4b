/**
 * Llama RMSNorm of f32 rows (rms-norm.wgsl): the decode step's separate norm dispatch, used in front of f32
 * GEMVs (the int4 GEMV fuses the norm itself).
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import rmsNormWgsl from './rms-norm.wgsl?raw';

export const RMS_NORM = defineKernel({
  name: 'rms-norm',
  code: rmsNormWgsl,
  constants: ['WORKGROUP_SIZE'],
  params: new UniformStruct('Params', { rows: 'u32', dim: 'u32', eps: 'f32' }),
  bindings: ['x', 'weight', 'y'],
});

const WORKGROUP_SIZE = 256;

export interface RmsNormShape {
  readonly rows: number;
  readonly dim: number;
  /** rms_norm_eps (Sarashina2: 1e-5). */
  readonly eps: number;
}

export interface RmsNormBuffers {
  /** f32 [rows, dim]. */
  readonly x: GPUBuffer;
  /** f32 [dim]. */
  readonly weight: GPUBuffer;
  /** f32 [rows, dim], the output (never the same buffer as x). */
  readonly y: GPUBuffer;
}

/** Prepares y = RMSNorm(x) · weight; buffer sizes are checked against the shape. */
export function prepareRmsNorm(kernels: KernelCache, buffers: RmsNormBuffers, shape: RmsNormShape): KernelDispatch {
  const { rows, dim } = shape;
  if (!Number.isInteger(rows) || rows <= 0 || !Number.isInteger(dim) || dim <= 0) {
    throw new SarashinaError('invalid-model', `RMSNorm: rows ${rows} and dim ${dim} must be positive integers. Check the hidden size in the manifest.`, { rows, dim });
  }
  const need: [string, GPUBuffer, number][] = [
    ['x', buffers.x, rows * dim * 4],
    ['weight', buffers.weight, dim * 4],
    ['y', buffers.y, rows * dim * 4],
  ];
  for (const [name, buffer, sizeBytes] of need) {
    if (buffer.size < sizeBytes) {
      throw new SarashinaError('internal', `RMSNorm (rows=${rows}, dim=${dim}): buffer ${name} holds ${buffer.size} bytes, needs ${sizeBytes}.`, {
        buffer: name,
        sizeBytes: buffer.size,
        neededBytes: sizeBytes,
      });
    }
  }
  return kernels.prepare(RMS_NORM, {
    constants: { WORKGROUP_SIZE: Math.min(WORKGROUP_SIZE, kernels.device.limits.maxComputeInvocationsPerWorkgroup) },
    params: { rows, dim, eps: shape.eps },
    buffers,
    workgroups: rows,
  });
}

/** Plain-TS reference (f64): y = x · (mean(x²) + eps)^−½ · weight per row. */
export function rmsNormReference(x: Float32Array, weight: Float32Array, shape: RmsNormShape): Float64Array {
  const y = new Float64Array(shape.rows * shape.dim);
  for (let r = 0; r < shape.rows; r++) {
    let ss = 0;
    for (let i = 0; i < shape.dim; i++) ss += (x[r * shape.dim + i] ?? 0) ** 2;
    const inv = 1 / Math.sqrt(ss / shape.dim + shape.eps);
    for (let i = 0; i < shape.dim; i++) y[r * shape.dim + i] = (x[r * shape.dim + i] ?? 0) * inv * (weight[i] ?? 0);
  }
  return y;
}
