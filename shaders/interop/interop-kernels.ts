/**
 * The interop check's two diagnostic kernels (src/ort/interop-check.ts): fill-ramp writes an input for
 * onnxruntime-web on the GPU, scale-shift reads ORT's GPU output back into a buffer we own.
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../src/gpu/kernel';
import fillRampWgsl from './fill-ramp.wgsl?raw';
import scaleShiftWgsl from './scale-shift.wgsl?raw';

const WORKGROUP_SIZE = 64;

export const FILL_RAMP = defineKernel({
  name: 'interop/fill-ramp',
  code: fillRampWgsl,
  constants: ['WORKGROUP_SIZE'],
  params: new UniformStruct('Params', { count: 'u32', start: 'f32', step: 'f32' }),
  bindings: ['out'],
});

export const SCALE_SHIFT = defineKernel({
  name: 'interop/scale-shift',
  code: scaleShiftWgsl,
  constants: ['WORKGROUP_SIZE'],
  params: new UniformStruct('Params', { count: 'u32', scale: 'f32', shift: 'f32' }),
  bindings: ['x', 'out'],
});

/** out[i] = start + step · i for i < count (f32). */
export function prepareFillRamp(kernels: KernelCache, out: GPUBuffer, ramp: { count: number; start: number; step: number }): KernelDispatch {
  return kernels.prepare(FILL_RAMP, {
    constants: { WORKGROUP_SIZE },
    params: ramp,
    buffers: { out },
    workgroups: Math.ceil(ramp.count / WORKGROUP_SIZE),
  });
}

/** out[i] = scale · x[i] + shift for i < count (f32). */
export function prepareScaleShift(kernels: KernelCache, x: GPUBuffer, out: GPUBuffer, affine: { count: number; scale: number; shift: number }): KernelDispatch {
  return kernels.prepare(SCALE_SHIFT, {
    constants: { WORKGROUP_SIZE },
    params: affine,
    buffers: { x, out },
    workgroups: Math.ceil(affine.count / WORKGROUP_SIZE),
  });
}
