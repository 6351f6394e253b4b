import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../gpu/gpu-buffers';
import { KernelCache } from '../../gpu/kernel';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { decodeAttentionReference, prepareDecodeAttention } from './decode-attention';
import { DecodeStepUniform } from './decode-step-uniform';
import { readF32 } from './gpu-test-helpers';

// Tolerance: f32 dot products of 128 terms, exp and a weighted sum over ≤ 300 positions (values in
// [-1, 1]): max-abs 2e-5, NMSE 1e-10.
const MAX_ABS = 2e-5;

describe('decode attention (split-K) on real WebGPU', () => {
  const cases = [
    { name: 'first token (p = 0)', heads: 4, kvHeads: 4, headDim: 128, maxLen: 16, positions: [0] },
    { name: 'MHA 8 × 128, several chunks, p at and around chunk edges', heads: 8, kvHeads: 8, headDim: 128, maxLen: 300, positions: [63, 64, 200, 299] },
    { name: 'GQA 6 → 2, head 64', heads: 6, kvHeads: 2, headDim: 64, maxLen: 130, positions: [129] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { device } = await testGpuContext();
      const kernels = new KernelCache(device);
      const shape = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, maxLen: c.maxLen, qOffset: 3 * c.headDim, outOffset: 5 };
      const q = randomFloats((c.heads + 3) * c.headDim, 1);
      // Keys scaled up so the softmax is peaked (a wrong max or a missing position shows).
      const kCache = Float32Array.from(randomFloats(c.kvHeads * c.maxLen * c.headDim, 2), (v) => v * 3);
      const vCache = randomFloats(c.kvHeads * c.maxLen * c.headDim, 3);
      const step = new DecodeStepUniform(device);
      const bufs = {
        q: uploadBuffer(device, 'q', q),
        kCache: uploadBuffer(device, 'k', kCache),
        vCache: uploadBuffer(device, 'v', vCache),
        out: createStorageBuffer(device, 'out', (5 + c.heads * c.headDim) * 4),
      };
      const attention = prepareDecodeAttention(device, kernels, { ...bufs, step: step.buffer }, shape);
      for (const position of c.positions) {
        step.setPosition(position);
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        attention.record(pass, position);
        pass.end();
        device.queue.submit([encoder.finish()]);
        const got = (await readF32(device, bufs.out, 5 + c.heads * c.headDim)).subarray(5);
        const want = decodeAttentionReference(q, kCache, vCache, shape, position);
        const stats = compareArrays(got, want);
        expect(stats.maxAbs, `p=${position}`).toBeLessThan(MAX_ABS);
        expect(stats.nmse).toBeLessThan(1e-10);
      }
      attention.destroy();
      step.destroy();
      for (const b of Object.values(bufs)) b.destroy();
    });
  }
});
