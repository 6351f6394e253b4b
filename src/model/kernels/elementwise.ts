/**
 * The small element-wise decode kernels: SwiGLU (shaders/swiglu.wgsl) and the in-place residual add
 * (shaders/add.wgsl). Both are fused into the int4 GEMV on the main path; these serve the others.
 */
import addWgsl from '../../../shaders/add.wgsl?raw';
import swigluWgsl from '../../../shaders/swiglu.wgsl?raw';
import type { KernelCache, KernelSource } from '../../gpu/kernel';
import { type PreparedKernel, prepareKernel } from './prepared-kernel';

export const SWIGLU: KernelSource = { name: 'swiglu', code: swigluWgsl };
export const ADD: KernelSource = { name: 'add', code: addWgsl };
const WORKGROUP_SIZE = 256;

/** out[i] = silu(gateUp[gateOffset + i]) · gateUp[upOffset + i], i < n (default offsets: packed [gate | up]). */
export function prepareSwiglu(
  device: GPUDevice,
  kernels: KernelCache,
  buffers: { readonly gateUp: GPUBuffer; readonly out: GPUBuffer },
  shape: { readonly n: number; readonly gateOffset?: number; readonly upOffset?: number },
): PreparedKernel {
  return prepareKernel(device, kernels, {
    kernel: SWIGLU,
    constants: { WORKGROUP_SIZE },
    params: new Uint32Array([shape.n, shape.gateOffset ?? 0, shape.upOffset ?? shape.n, 0]),
    buffers: [buffers.gateUp, buffers.out],
    workgroupCount: Math.ceil(shape.n / WORKGROUP_SIZE),
  });
}

/** y[i] += x[i], i < n. */
export function prepareAdd(device: GPUDevice, kernels: KernelCache, buffers: { readonly x: GPUBuffer; readonly y: GPUBuffer }, n: number): PreparedKernel {
  return prepareKernel(device, kernels, {
    kernel: ADD,
    constants: { WORKGROUP_SIZE },
    params: new Uint32Array([n, 0, 0, 0]),
    buffers: [buffers.x, buffers.y],
    workgroupCount: Math.ceil(n / WORKGROUP_SIZE),
  });
}

/** References in f64. */
export function swigluReference(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: gate.length }, (_, i) => {
    const g = gate[i] ?? 0;
    return (g / (1 + Math.exp(-g))) * (up[i] ?? 0);
  });
}
