import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../gpu/gpu-buffers';
import { KernelCache } from '../../gpu/kernel';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { prepareAdd, prepareSwiglu, swigluReference } from './elementwise';
import { prepareEmbeddingGather } from './embedding-gather';
import { int4GemvReference } from './int4-gemv';
import { readF32, runDispatches } from './gpu-test-helpers';

describe('element-wise decode kernels on real WebGPU', () => {
  it('swiglu from a packed [gate | up] buffer (n odd, past one workgroup); tolerance 1e-5 abs on outputs up to 6 (exp in f32)', async () => {
    const { device } = await testGpuContext();
    const n = 1001;
    const gateUp = Float32Array.from(randomFloats(2 * n, 1), (v) => v * 6);
    const bufs = { gateUp: uploadBuffer(device, 'gu', gateUp), out: createStorageBuffer(device, 'out', n * 4) };
    const k = prepareSwiglu(device, new KernelCache(device), bufs, { n });
    await runDispatches(device, [k]);
    const want = swigluReference(gateUp.subarray(0, n), gateUp.subarray(n));
    expect(compareArrays(await readF32(device, bufs.out, n), want).maxAbs).toBeLessThan(1e-5);
    k.destroy();
    for (const b of Object.values(bufs)) b.destroy();
  });

  it('residual add in place (exact up to one f32 rounding)', async () => {
    const { device } = await testGpuContext();
    const n = 4099;
    const x = randomFloats(n, 2);
    const y = randomFloats(n, 3);
    const bufs = { x: uploadBuffer(device, 'x', x), y: uploadBuffer(device, 'y', y) };
    const k = prepareAdd(device, new KernelCache(device), bufs, n);
    await runDispatches(device, [k]);
    const want = Float32Array.from(y, (v, i) => v + (x[i] ?? 0));
    expect(compareArrays(await readF32(device, bufs.y, n), want).maxAbs).toBe(0);
    k.destroy();
    for (const b of Object.values(bufs)) b.destroy();
  });

  it('embedding gather, f32 table: exact rows; an id past the vocabulary gives zeros', async () => {
    const { device } = await testGpuContext();
    const vocab = 50;
    const hidden = 96;
    const table = randomFloats(vocab * hidden, 4);
    const ids = new Uint32Array([7, 0, 49, 7, 1000]);
    const bufs = {
      ids: uploadBuffer(device, 'ids', ids),
      table: uploadBuffer(device, 'table', table),
      out: createStorageBuffer(device, 'out', ids.length * hidden * 4),
    };
    const k = prepareEmbeddingGather(device, new KernelCache(device), bufs, { kind: 'f32', table: bufs.table }, { count: ids.length, hidden, vocab });
    await runDispatches(device, [k]);
    const got = await readF32(device, bufs.out, ids.length * hidden);
    ids.forEach((id, t) => {
      const want = id < vocab ? table.subarray(id * hidden, (id + 1) * hidden) : new Float32Array(hidden);
      expect(Array.from(got.subarray(t * hidden, (t + 1) * hidden))).toEqual(Array.from(want));
    });
    k.destroy();
    for (const b of Object.values(bufs)) b.destroy();
  });

  it('embedding gather, int4 table (MatMulNBits layout): rows equal the dequantized weights', async () => {
    const { device } = await testGpuContext();
    const vocab = 40;
    const hidden = 128;
    const blocks = hidden / 32;
    const qweight = Uint8Array.from(randomFloats(vocab * blocks * 16, 5), (v) => Math.floor((v + 1) * 128) & 255);
    const scales = Float32Array.from(randomFloats(vocab * blocks, 6), (v) => 0.01 + Math.abs(v) * 0.05);
    const ids = new Uint32Array([3, 39, 0]);
    const bufs = {
      ids: uploadBuffer(device, 'ids', ids),
      qweight: uploadBuffer(device, 'q', qweight),
      scales: uploadBuffer(device, 's', scales),
      out: createStorageBuffer(device, 'out', ids.length * hidden * 4),
    };
    const k = prepareEmbeddingGather(device, new KernelCache(device), bufs, { kind: 'int4', qweight: bufs.qweight, scales: bufs.scales }, { count: ids.length, hidden, vocab });
    await runDispatches(device, [k]);
    const got = await readF32(device, bufs.out, ids.length * hidden);
    // Row id of W is W · e_k for each k: reuse the GEMV reference with one-hot inputs of the row's length.
    ids.forEach((id, t) => {
      for (let kk = 0; kk < hidden; kk += 37) {
        const onehot = new Float32Array(hidden);
        onehot[kk] = 1;
        const want = int4GemvReference(onehot, qweight, scales, { n: vocab, k: hidden })[id] ?? NaN;
        expect(got[t * hidden + kk]).toBe(Math.fround(want));
      }
    });
    k.destroy();
    for (const b of Object.values(bufs)) b.destroy();
  });
});
