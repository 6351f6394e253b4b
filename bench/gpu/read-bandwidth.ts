/**
 * Bench helper: the read bandwidth a WGSL kernel reaches on this GPU (the roofline's denominator), streaming a
 * buffer of random words (NVIDIA compresses zeros) in one dispatch, median of repeats after a warm-up.
 */
import fillRandomWgsl from './fill-random.wgsl?raw';
import streamReadWgsl from './stream-read.wgsl?raw';
import { createStorageBuffer } from '../../src/gpu/gpu-buffers';
import { KernelCache } from '../../src/gpu/kernel';
import { prepareKernel } from '../../src/model/kernels/prepared-kernel';

/** Bytes per second read by a streaming kernel over `sizeBytes` (a multiple of 16). */
export async function measureReadBandwidth(device: GPUDevice, sizeBytes: number, repeats = 5): Promise<number> {
  const kernels = new KernelCache(device);
  const words = sizeBytes / 4;
  const src = createStorageBuffer(device, 'bandwidth.src', sizeBytes);
  const sink = createStorageBuffer(device, 'bandwidth.sink', 16);
  const fill = prepareKernel(device, kernels, { kernel: { name: 'fill-random', code: fillRandomWgsl }, params: new Uint32Array([words, 7, 0, 0]), buffers: [src], workgroupCount: Math.ceil(words / 256) });
  const vec4s = sizeBytes / 16;
  const threads = 256 * 2048;
  const read = prepareKernel(device, kernels, {
    kernel: { name: 'stream-read', code: streamReadWgsl },
    params: new Uint32Array([vec4s, Math.ceil(vec4s / threads), threads, 0]),
    buffers: [src, sink],
    workgroupCount: threads / 256,
  });
  const run = async (k: typeof read): Promise<number> => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    k.record(pass);
    pass.end();
    const t = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t;
  };
  await run(fill);
  await run(read);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await run(read));
  for (const k of [fill, read]) k.destroy();
  src.destroy();
  sink.destroy();
  const ms = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? NaN;
  return sizeBytes / (ms / 1000);
}
