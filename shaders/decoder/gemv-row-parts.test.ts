/**
 * The decode step's GEMVs on a weight stored as row parts (src/protocol/weight-parts.ts): one dispatch per part, its
 * own buffer, writing its rows of y at the part's first row. Together they must give the plain-TS reference of the
 * whole matrix (f32-gemv.ts, int4-gemv.ts), with each kernel's own tolerance. Parts are uneven (a smaller last one),
 * and n is no multiple of the rows per workgroup.
 */
import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../src/gpu/gpu-buffers';
import { KernelCache, type KernelDispatch } from '../../src/gpu/kernel';
import { compareArrays, randomFloats } from '../../src/testing/compare';
import { readF32, runDispatches } from '../../src/testing/gpu-readback';
import { testGpuContext } from '../../src/testing/node-gpu';
import { f32GemvReference, prepareF32Gemv } from './f32-gemv/f32-gemv';
import { chooseGemvVariant, int4GemvReference, prepareInt4Gemv } from './int4-gemv/int4-gemv';

/** [firstRow, rows] of each part. */
function cut(rows: readonly number[]): [number, number][] {
  let first = 0;
  return rows.map((n) => {
    first += n;
    return [first - n, n];
  });
}

describe('GEMVs over a weight in row parts vs the whole matrix\'s reference', () => {
  it('f32 SwiGLU (gate and up cut alike) and residual add: within 2e-6 of max |y|', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const [n, k] = [203, 332];
    const parts = cut([90, 90, 23]);
    const x = randomFloats(k, 21);
    const gate = randomFloats(n * k, 22);
    const up = randomFloats(n * k, 23);
    const y0 = randomFloats(n, 24);
    const xb = uploadBuffer(device, 'x', x);
    const swiglu = createStorageBuffer(device, 'swiglu', n * 4);
    const add = uploadBuffer(device, 'add', y0);
    const owned: GPUBuffer[] = [xb, swiglu, add];
    const dispatches: KernelDispatch[] = [];
    for (const [first, rows] of parts) {
      const g = uploadBuffer(device, 'gate.part', gate.subarray(first * k, (first + rows) * k));
      const u = uploadBuffer(device, 'up.part', up.subarray(first * k, (first + rows) * k));
      owned.push(g, u);
      dispatches.push(prepareF32Gemv(kernels, { x: xb, weight: g, weight2: u, y: swiglu }, { n: rows, k, epilogue: 'swiglu', yOffset: first }));
      dispatches.push(prepareF32Gemv(kernels, { x: xb, weight: g, y: add }, { n: rows, k, epilogue: 'add', yOffset: first }));
    }
    await runDispatches(device, dispatches);
    const dot = f32GemvReference(x, gate, { n, k });
    const dotUp = f32GemvReference(x, up, { n, k });
    const s1 = compareArrays(await readF32(device, swiglu, n), Float64Array.from(dot, (v, i) => (v / (1 + Math.exp(-v))) * (dotUp[i] ?? 0)));
    expect(s1.maxRel, JSON.stringify(s1)).toBeLessThan(2e-6);
    const s2 = compareArrays(await readF32(device, add, n), Float64Array.from(dot, (v, i) => v + (y0[i] ?? 0)));
    expect(s2.maxRel, JSON.stringify(s2)).toBeLessThan(2e-6);
    for (const d of dispatches) d.destroy();
    for (const b of owned) b.destroy();
  });

  it('int4 store (codes and scales cut at the same rows): within 2e-5 · Σ|x·W| + 1e-6 per row', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const [n, k] = [203, 256];
    const blocks = k / 32;
    const parts = cut([96, 96, 11]);
    const x = randomFloats(k, 31);
    const codes = Uint8Array.from(randomFloats(n * blocks * 16, 32), (v) => Math.floor((v + 1) * 128) & 255);
    const scales = Float32Array.from(randomFloats(n * blocks, 33), (v) => 0.002 + 0.02 * Math.abs(v));
    const xb = uploadBuffer(device, 'x', x);
    const y = createStorageBuffer(device, 'y', n * 4);
    const owned: GPUBuffer[] = [xb, y];
    const dispatches = parts.map(([first, rows]) => {
      const q = uploadBuffer(device, 'codes.part', codes.subarray(first * blocks * 16, (first + rows) * blocks * 16));
      const s = uploadBuffer(device, 'scales.part', scales.subarray(first * blocks, (first + rows) * blocks));
      owned.push(q, s);
      const shape = { n: rows, k, epilogue: 'store' as const, yOffset: first };
      return prepareInt4Gemv(kernels, { x: xb, qweight: q, scales: s, y }, shape, chooseGemvVariant(device.limits, shape));
    });
    await runDispatches(device, dispatches);
    const got = await readF32(device, y, n);
    const want = int4GemvReference(x, codes, scales, { n, k });
    // Σ_k |x_k · W_nk|: the reference on |x| and |q − 8| (re-biased by 8, as the layout stores codes).
    const absCodes = Uint8Array.from(codes, (b) => (Math.abs((b & 15) - 8) + 8) | ((Math.abs((b >> 4) - 8) + 8) << 4));
    const absSum = int4GemvReference(Float32Array.from(x, Math.abs), absCodes, scales, { n, k });
    for (let r = 0; r < n; r++) expect(Math.abs((got[r] ?? 0) - (want[r] ?? 0)), `row ${r}`).toBeLessThanOrEqual(2e-5 * (absSum[r] ?? 0) + 1e-6);
    for (const d of dispatches) d.destroy();
    for (const b of owned) b.destroy();
  });
});
