/**
 * f32 GEMV for the decode step (M = 1) over row-major f32 weights [n, k] (f32-gemv.wgsl): the fp32 packages'
 * decoder linears, with the int4 GEMV's epilogues (store, residual add, fused SwiGLU), all at an offset of y.
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import type { GemvEpilogue } from '../int4-gemv/int4-gemv';
import f32GemvWgsl from './f32-gemv.wgsl?raw';

export const F32_GEMV = defineKernel({
  name: 'f32-gemv',
  code: f32GemvWgsl,
  entryPoints: ['main_store', 'main_add', 'main_swiglu'],
  constants: ['WORKGROUP_SIZE'],
  params: new UniformStruct('Params', { n: 'u32', k4: 'u32', y_offset: 'u32' }),
  bindings: ['x', 'weight', 'y', 'weight2'],
});

/** Rows per workgroup (ROWS in the shader). */
const ROWS = 4;
const WORKGROUP_SIZE = 64;

export interface F32GemvShape {
  readonly n: number;
  /** Input length, a multiple of 4. */
  readonly k: number;
  readonly epilogue: GemvEpilogue;
  /** First element of y written (or accumulated into). Default 0. */
  readonly yOffset?: number;
}

export interface F32GemvBuffers {
  /** f32 [k]. */
  readonly x: GPUBuffer;
  /** f32 [n, k] (the gate for SwiGLU). */
  readonly weight: GPUBuffer;
  /** f32 [yOffset + n]. */
  readonly y: GPUBuffer;
  /** SwiGLU only: the up matrix [n, k]. */
  readonly weight2?: GPUBuffer;
}

/** Prepares y = x · Wᵀ (with the epilogue) as a reusable dispatch; buffer sizes are checked against the shape. */
export function prepareF32Gemv(kernels: KernelCache, buffers: F32GemvBuffers, shape: F32GemvShape): KernelDispatch {
  const { n, k, epilogue } = shape;
  const yOffset = shape.yOffset ?? 0;
  if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(k) || k <= 0 || k % 4 !== 0) {
    throw new SarashinaError('invalid-model', `f32 GEMV: shape n=${n}, k=${k} needs positive integers with k a multiple of 4. Check the weight shapes in the manifest.`, { n, k });
  }
  const need: [string, GPUBuffer | undefined, number][] = [
    ['x', buffers.x, k * 4],
    ['weight', buffers.weight, n * k * 4],
    ['y', buffers.y, (yOffset + n) * 4],
  ];
  if (epilogue === 'swiglu') need.push(['weight2', buffers.weight2, n * k * 4]);
  for (const [name, buffer, sizeBytes] of need) {
    if (!buffer || buffer.size < sizeBytes) {
      throw new SarashinaError('internal', `f32 GEMV (n=${n}, k=${k}): buffer ${name} holds ${buffer?.size ?? 0} bytes, needs ${sizeBytes}.`, {
        buffer: name,
        sizeBytes: buffer?.size ?? 0,
        neededBytes: sizeBytes,
      });
    }
  }
  const { x, weight, y } = buffers;
  return kernels.prepare(F32_GEMV, {
    entryPoint: `main_${epilogue}`,
    constants: { WORKGROUP_SIZE: Math.min(WORKGROUP_SIZE, kernels.device.limits.maxComputeInvocationsPerWorkgroup) },
    params: { n, k4: k / 4, y_offset: yOffset },
    buffers: { x, weight, y, ...(epilogue === 'swiglu' ? { weight2: buffers.weight2 } : {}) },
    workgroups: Math.ceil(n / ROWS),
  });
}

/** Plain-TS reference: dot[r] = Σ_k x[k] · W[r, k] in f64. */
export function f32GemvReference(x: Float32Array, weight: Float32Array, shape: { n: number; k: number }): Float64Array {
  const out = new Float64Array(shape.n);
  for (let r = 0; r < shape.n; r++) {
    let sum = 0;
    for (let i = 0; i < shape.k; i++) sum += (x[i] ?? 0) * (weight[r * shape.k + i] ?? 0);
    out[r] = sum;
  }
  return out;
}
