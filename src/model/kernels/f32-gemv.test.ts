import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../gpu/gpu-buffers';
import { KernelCache } from '../../gpu/kernel';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { swigluReference } from './elementwise';
import { f32GemvReference, prepareF32Gemv } from './f32-gemv';
import { readF32, runDispatches } from './gpu-test-helpers';

describe('f32 GEMV on real WebGPU vs the f64 reference', () => {
  // n not a multiple of the 4 rows per workgroup; k not a multiple of 64 · 4 (partial strides).
  const n = 203;
  const k = 332;

  it('store at an offset, add into y, SwiGLU: within 2e-6 of max |y|', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const x = randomFloats(k, 11);
    const w = randomFloats(n * k, 12);
    const w2 = randomFloats(n * k, 13);
    const y0 = randomFloats(n, 14);
    const offset = 7;
    const bufs = {
      x: uploadBuffer(device, 'x', x),
      w: uploadBuffer(device, 'w', w),
      w2: uploadBuffer(device, 'w2', w2),
      store: createStorageBuffer(device, 'store', (offset + n) * 4),
      add: uploadBuffer(device, 'add', y0),
      swiglu: createStorageBuffer(device, 'swiglu', n * 4),
    };
    const dispatches = [
      prepareF32Gemv(device, kernels, { x: bufs.x, weight: bufs.w, y: bufs.store }, { n, k, epilogue: 'store', yOffset: offset }),
      prepareF32Gemv(device, kernels, { x: bufs.x, weight: bufs.w, y: bufs.add }, { n, k, epilogue: 'add' }),
      prepareF32Gemv(device, kernels, { x: bufs.x, weight: bufs.w, weight2: bufs.w2, y: bufs.swiglu }, { n, k, epilogue: 'swiglu' }),
    ];
    await runDispatches(device, dispatches);
    const dot = f32GemvReference(x, w, { n, k });
    const up = f32GemvReference(x, w2, { n, k });
    const check = (got: Float32Array, want: Float64Array): void => {
      const stats = compareArrays(got, want);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(2e-6);
    };
    const stored = await readF32(device, bufs.store, offset + n);
    expect(Array.from(stored.subarray(0, offset))).toEqual(new Array(offset).fill(0));
    check(stored.subarray(offset), dot);
    check(await readF32(device, bufs.add, n), Float64Array.from(dot, (v, i) => v + (y0[i] ?? 0)));
    check(await readF32(device, bufs.swiglu, n), swigluReference(dot, up));
    for (const d of dispatches) d.destroy();
    for (const b of Object.values(bufs)) b.destroy();
  });

  it('rejects k not a multiple of 4 and a too-small weight buffer', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const small = createStorageBuffer(device, 'small', 64);
    expect(() => prepareF32Gemv(device, kernels, { x: small, weight: small, y: small }, { n: 2, k: 6, epilogue: 'store' })).toThrow(expect.objectContaining({ code: 'invalid-model' }));
    expect(() => prepareF32Gemv(device, kernels, { x: small, weight: small, y: small }, { n: 8, k: 8, epilogue: 'store' })).toThrow(expect.objectContaining({ code: 'internal' }));
    small.destroy();
  });
});
