/**
 * f32 GEMV for the decode step (M = 1) over row-major f32 weights [n, k] (shaders/f32-gemv.wgsl): the
 * fp32 packages' decoder linears, with the same epilogues as the int4 GEMV (store at an offset, residual
 * add, fused SwiGLU).
 */
import f32GemvWgsl from '../../../shaders/f32-gemv.wgsl?raw';
import type { KernelCache, KernelSource } from '../../gpu/kernel';
import { SarashinaError } from '../../protocol/errors';
import type { GemvEpilogue } from './int4-gemv';
import { type PreparedKernel, prepareKernel } from './prepared-kernel';

/** Rows per workgroup (ROWS in the shader). */
const ROWS = 4;
const WORKGROUP_SIZE = 64;

export function f32GemvKernel(epilogue: GemvEpilogue): KernelSource {
  return { name: `f32-gemv/${epilogue}`, code: f32GemvWgsl, entryPoint: `main_${epilogue}` };
}

export interface F32GemvShape {
  readonly n: number;
  /** Input length, a multiple of 4. */
  readonly k: number;
  readonly epilogue: GemvEpilogue;
  /** 'store' only: first element of y written. Default 0. */
  readonly yOffset?: number;
}

export interface F32GemvBuffers {
  /** f32 [k]. */
  readonly x: GPUBuffer;
  /** f32 [n, k] (the gate for SwiGLU). */
  readonly weight: GPUBuffer;
  readonly y: GPUBuffer;
  /** SwiGLU only: the up matrix [n, k]. */
  readonly weight2?: GPUBuffer;
}

/** Prepares y = x · Wᵀ (with the epilogue) as a reusable dispatch; buffer sizes are checked against the shape. */
export function prepareF32Gemv(device: GPUDevice, kernels: KernelCache, buffers: F32GemvBuffers, shape: F32GemvShape): PreparedKernel {
  const { n, k, epilogue } = shape;
  if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(k) || k <= 0 || k % 4 !== 0) {
    throw new SarashinaError('invalid-model', `f32 GEMV: shape n=${n}, k=${k} needs positive integers with k a multiple of 4. Check the weight shapes in the manifest.`, { n, k });
  }
  const need: [string, GPUBuffer | undefined, number][] = [
    ['x', buffers.x, k * 4],
    ['weight', buffers.weight, n * k * 4],
    ['y', buffers.y, ((shape.yOffset ?? 0) + n) * 4],
  ];
  if (epilogue === 'swiglu') need.push(['weight2', buffers.weight2, n * k * 4]);
  for (const [name, buffer, sizeBytes] of need) {
    if (!buffer || buffer.size < sizeBytes) {
      throw new SarashinaError('internal', `f32 GEMV (n=${n}, k=${k}): buffer ${name} holds ${buffer?.size ?? 0} bytes, needs ${sizeBytes}.`, { buffer: name, neededBytes: sizeBytes });
    }
  }
  const bound = [buffers.x, buffers.weight, buffers.y];
  if (epilogue === 'swiglu' && buffers.weight2) bound.push(buffers.weight2);
  return prepareKernel(device, kernels, {
    kernel: f32GemvKernel(epilogue),
    constants: { WORKGROUP_SIZE: Math.min(WORKGROUP_SIZE, device.limits.maxComputeInvocationsPerWorkgroup) },
    params: new Uint32Array([n, k / 4, shape.yOffset ?? 0, 0]),
    buffers: bound,
    workgroupCount: Math.ceil(n / ROWS),
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
