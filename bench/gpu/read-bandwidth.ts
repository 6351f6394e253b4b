/**
 * Bench helper: the read bandwidth a WGSL kernel reaches on this GPU (the roofline's denominator), streaming a
 * buffer of random words (NVIDIA compresses zeros) in one dispatch, median of repeats after a warm-up; and the
 * fill-random kernel the benches fill weights and caches with. Both are declared with `defineKernel` like the
 * product's kernels (bench-only: not in shaders/kernel-registry.ts).
 */
import fillRandomWgsl from './fill-random.wgsl?raw';
import streamReadWgsl from './stream-read.wgsl?raw';
import { createStorageBuffer } from '../../src/gpu/gpu-buffers';
import { defineKernel, KernelCache, type KernelDispatch, UniformStruct } from '../../src/gpu/kernel';

export const FILL_RANDOM = defineKernel({
  name: 'bench/fill-random',
  code: fillRandomWgsl,
  params: new UniformStruct('Params', { count: 'u32', seed: 'u32' }),
  bindings: ['out'],
});

export const STREAM_READ = defineKernel({
  name: 'bench/stream-read',
  code: streamReadWgsl,
  params: new UniformStruct('Params', { vec4s: 'u32', per: 'u32', threads: 'u32', pad: 'u32' }),
  bindings: ['src', 'sink'],
});

/** The fill of all of `buffer` (size a multiple of 4) with hashed words; record it, destroy it after submit. */
export function prepareFillRandom(kernels: KernelCache, buffer: GPUBuffer, seed: number): KernelDispatch {
  const count = Math.floor(buffer.size / 4);
  return kernels.prepare(FILL_RANDOM, { params: { count, seed }, buffers: { out: buffer }, workgroups: Math.ceil(count / 256) });
}

/** Fills `buffer` with random bits (as f32 some are NaN or Inf: the benches' timings do not depend on values). */
export function fillRandom(kernels: KernelCache, buffer: GPUBuffer, seed: number): void {
  const fill = prepareFillRandom(kernels, buffer, seed);
  const encoder = kernels.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  fill.record(pass);
  pass.end();
  kernels.device.queue.submit([encoder.finish()]);
  fill.destroy();
}

/** Bytes per second read by the streaming kernel over `sizeBytes` (a multiple of 16). */
export async function measureReadBandwidth(device: GPUDevice, sizeBytes: number, repeats = 5, cache = new KernelCache(device)): Promise<number> {
  const src = createStorageBuffer(device, 'bandwidth.src', sizeBytes);
  const sink = createStorageBuffer(device, 'bandwidth.sink', 16);
  const vec4s = sizeBytes / 16;
  const threads = 256 * 2048;
  const read = cache.prepare(STREAM_READ, {
    params: { vec4s, per: Math.ceil(vec4s / threads), threads, pad: 0 },
    buffers: { src, sink },
    workgroups: threads / 256,
  });
  const run = async (k: KernelDispatch): Promise<number> => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    k.record(pass);
    pass.end();
    const t = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t;
  };
  fillRandom(cache, src, 7);
  await run(read);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await run(read));
  read.destroy();
  src.destroy();
  sink.destroy();
  const ms = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? NaN;
  return sizeBytes / (ms / 1000);
}
