import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { readF32, runDispatches } from '../../../src/testing/gpu-readback';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { f32GemvReference, prepareF32Gemv } from './f32-gemv';

describe('f32 GEMV on real WebGPU vs the f64 reference', () => {
  // n not a multiple of the 4 rows per workgroup; k not a multiple of 64 · 4 (partial strides).
  const n = 203;
  const k = 332;

  it('store, add into y and SwiGLU, each at an offset: within 2e-6 of max |y|', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const x = randomFloats(k, 11);
    const w = randomFloats(n * k, 12);
    const w2 = randomFloats(n * k, 13);
    const offset = 7;
    const y0 = randomFloats(offset + n, 14);
    const bufs = {
      x: uploadBuffer(device, 'x', x),
      w: uploadBuffer(device, 'w', w),
      w2: uploadBuffer(device, 'w2', w2),
      store: createStorageBuffer(device, 'store', (offset + n) * 4),
      add: uploadBuffer(device, 'add', y0),
      swiglu: createStorageBuffer(device, 'swiglu', (offset + n) * 4),
    };
    const dispatches = [
      prepareF32Gemv(kernels, { x: bufs.x, weight: bufs.w, y: bufs.store }, { n, k, epilogue: 'store', yOffset: offset }),
      prepareF32Gemv(kernels, { x: bufs.x, weight: bufs.w, y: bufs.add }, { n, k, epilogue: 'add', yOffset: offset }),
      prepareF32Gemv(kernels, { x: bufs.x, weight: bufs.w, weight2: bufs.w2, y: bufs.swiglu }, { n, k, epilogue: 'swiglu', yOffset: offset }),
    ];
    await runDispatches(device, dispatches);
    const dot = f32GemvReference(x, w, { n, k });
    const up = f32GemvReference(x, w2, { n, k });
    const check = async (buffer: GPUBuffer, before: ArrayLike<number>, want: Float64Array): Promise<void> => {
      const got = await readF32(device, buffer, offset + n);
      expect(Array.from(got.subarray(0, offset))).toEqual(Array.from(before));
      const stats = compareArrays(got.subarray(offset), want);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(2e-6);
    };
    const zeros = new Array<number>(offset).fill(0);
    await check(bufs.store, zeros, dot);
    await check(bufs.add, y0.subarray(0, offset), Float64Array.from(dot, (v, i) => v + (y0[offset + i] ?? 0)));
    await check(
      bufs.swiglu,
      zeros,
      Float64Array.from(dot, (g, i) => (g / (1 + Math.exp(-g))) * (up[i] ?? 0)),
    );
    for (const d of dispatches) d.destroy();
    for (const b of Object.values(bufs)) b.destroy();
  });

  it('rejects k not a multiple of 4 and a too-small weight buffer', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const small = createStorageBuffer(device, 'small', 64);
    expect(() => prepareF32Gemv(kernels, { x: small, weight: small, y: small }, { n: 2, k: 6, epilogue: 'store' })).toThrow(expect.objectContaining({ code: 'invalid-model' }));
    expect(() => prepareF32Gemv(kernels, { x: small, weight: small, y: small }, { n: 8, k: 8, epilogue: 'store' })).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringContaining('buffer weight holds 64 bytes, needs 256') }),
    );
    small.destroy();
  });
});
