import { describe, expect, it } from 'vitest';
import { uploadBuffer } from '../../gpu/gpu-buffers';
import { KernelCache } from '../../gpu/kernel';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { DecodeStepUniform } from './decode-step-uniform';
import { readF32, runDispatches } from './gpu-test-helpers';
import { llamaInverseFrequencies, llamaRopeTable } from './llama-rope-table';
import { prepareRopeAppend, ropeAppendReference } from './rope';

// Tolerance: two f32 products and a sum per element on O(1) inputs, same tables on both sides.
const MAX_ABS = 2e-6;

describe('llama rope table', () => {
  it('inverse frequencies follow theta^(-2i/d) in f32', () => {
    const inv = llamaInverseFrequencies(10000, 128);
    expect(inv[0]).toBe(1);
    expect(inv[1]).toBe(Math.fround(1 / Math.fround(10000 ** Math.fround(2 / 128))));
    // f32: within 2 ulp (relative 1.2e-7) of the exact value.
    expect(Math.abs((inv[63] ?? 0) / 10000 ** (-126 / 128) - 1)).toBeLessThan(1.2e-7);
  });
  it('angles are the f32 product p · inv_freq; cos/sin within 1e-7 of f64 on it at long positions', () => {
    const t = llamaRopeTable({ theta: 10000, headDim: 128, maxLen: 4096 });
    const inv = llamaInverseFrequencies(10000, 128);
    for (const [p, i] of [[0, 0], [4095, 0], [4095, 5], [1234, 63]] as const) {
      const angle = Math.fround(p * (inv[i] ?? 0));
      expect(Math.abs((t.cos[p * 64 + i] ?? NaN) - Math.cos(angle))).toBeLessThan(1e-7);
      expect(Math.abs((t.sin[p * 64 + i] ?? NaN) - Math.sin(angle))).toBeLessThan(1e-7);
    }
    expect(t.cos[0]).toBe(1);
    expect(t.sin[0]).toBe(0);
  });
});

describe('rope + KV-cache append on real WebGPU', () => {
  const cases = [
    { name: 'Sarashina2-7B head layout (MHA 32 × 128), p = 37', heads: 32, kvHeads: 32, headDim: 128, maxLen: 64, position: 37 },
    { name: 'GQA 4 → 2, head 64, last row', heads: 4, kvHeads: 2, headDim: 64, maxLen: 9, position: 8 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { device } = await testGpuContext();
      const kernels = new KernelCache(device);
      const shape = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, maxLen: c.maxLen };
      const qkv = randomFloats((c.heads + 2 * c.kvHeads) * c.headDim, 8);
      const cacheLen = c.kvHeads * c.maxLen * c.headDim;
      const kCache = randomFloats(cacheLen, 9);
      const vCache = randomFloats(cacheLen, 10);
      const table = llamaRopeTable({ theta: 10000, headDim: c.headDim, maxLen: c.maxLen });
      const step = new DecodeStepUniform(device);
      step.setPosition(c.position);
      const bufs = {
        qkv: uploadBuffer(device, 'qkv', qkv),
        kCache: uploadBuffer(device, 'k', kCache),
        vCache: uploadBuffer(device, 'v', vCache),
        cos: uploadBuffer(device, 'cos', table.cos),
        sin: uploadBuffer(device, 'sin', table.sin),
      };
      const k = prepareRopeAppend(device, kernels, { ...bufs, step: step.buffer }, shape);
      await runDispatches(device, [k]);
      const wantK = Float32Array.from(kCache);
      const wantV = Float32Array.from(vCache);
      const want = ropeAppendReference(qkv, wantK, wantV, table, shape, c.position);
      expect(compareArrays(await readF32(device, bufs.qkv, qkv.length), want).maxAbs).toBeLessThan(MAX_ABS);
      // Every other cache row stays as it was (compared exactly, as part of the whole cache).
      expect(compareArrays(await readF32(device, bufs.kCache, cacheLen), wantK).maxAbs).toBeLessThan(MAX_ABS);
      expect(compareArrays(await readF32(device, bufs.vCache, cacheLen), wantV).maxAbs).toBe(0);
      // The rotation did something (p > 0).
      expect(compareArrays(wantK, kCache).maxAbs).toBeGreaterThan(0.1);
      k.destroy();
      step.destroy();
      for (const b of Object.values(bufs)) b.destroy();
    });
  }
});
