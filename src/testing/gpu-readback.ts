/** Test helpers for kernels: run prepared dispatches on the test device and read buffers back. */
import { readBuffer } from '../gpu/gpu-buffers';
import type { KernelDispatch, Workgroups } from '../gpu/kernel';

/** Records the dispatches into one compute pass (in order), submits and waits. */
export async function runDispatches(device: GPUDevice, dispatches: readonly (KernelDispatch | readonly [KernelDispatch, Workgroups])[]): Promise<void> {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const d of dispatches) {
    if (Array.isArray(d)) {
      const [k, w] = d as readonly [KernelDispatch, Workgroups];
      k.record(pass, w);
    } else (d as KernelDispatch).record(pass);
  }
  pass.end();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
}

export async function readF32(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, buffer, count * 4));
}

export async function readU32(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, buffer, count * 4));
}
