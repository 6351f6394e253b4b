import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../gpu/gpu-buffers';
import { KernelCache } from '../../gpu/kernel';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import {
  chooseAttentionChunks,
  type DecodeAttentionSplit,
  decodeAttentionReference,
  MAX_ATTENTION_CONTEXT,
  maxAttentionChunks,
  prepareDecodeAttention,
  TWO_PASS_TARGET_WORKGROUPS,
} from './decode-attention';
import { DecodeStepUniform } from './decode-step-uniform';
import { readF32 } from './gpu-test-helpers';
import { llamaRopeTable } from './llama-rope-table';
import { ropeAppendReference } from './rope';

// Tolerance: f32 dot products of 128 terms, exp and a weighted sum over ≤ 300 positions (values in
// [-1, 1]): max-abs 2e-5, NMSE 1e-10.
const MAX_ABS = 2e-5;

describe('decode attention (split-K) on real WebGPU', () => {
  const cases: {
    name: string;
    heads: number;
    kvHeads: number;
    headDim: number;
    maxLen: number;
    positions: number[];
    split: DecodeAttentionSplit;
    /** Forced chunk counts (each run at every position) instead of the chooser's. */
    chunks?: number[];
    workgroupSize?: 128 | 256;
  }[] = [
    { name: 'first token (p = 0)', heads: 4, kvHeads: 4, headDim: 128, maxLen: 16, positions: [0], split: 'fused' },
    { name: 'MHA 8 × 128, p at and around 32-position chunk edges', heads: 8, kvHeads: 8, headDim: 128, maxLen: 300, positions: [31, 32, 33, 200, 299], split: 'fused' },
    // 2 heads: chunks stay 32 positions long, so p = 2047 has 64 chunks and p = 2000 63 (combine unroll and tail).
    { name: 'MHA 2 × 128, 63 and 64 chunks', heads: 2, kvHeads: 2, headDim: 128, maxLen: 2048, positions: [2000, 2047], split: 'fused' },
    // Chunks of 16 … 256 positions (at p = 599: 3 → 200, 7 → 86, 19 → 32, 38 → 16): key steps of 4 × 16 positions,
    // value rows past the 16 prefetched ones in four-row steps and a one-row tail, short last chunks.
    { name: 'MHA 4 × 128, forced chunkings', heads: 4, kvHeads: 4, headDim: 128, maxLen: 600, positions: [437, 599], split: 'fused', chunks: [3, 7, 19, 38] },
    { name: 'GQA 6 → 2, head 64', heads: 6, kvHeads: 2, headDim: 64, maxLen: 130, positions: [129], split: 'fused' },
    // The two-pass baseline (separate combine dispatch), same chunking.
    { name: 'two-pass (adaptive) MHA 8 × 128, chunk edges', heads: 8, kvHeads: 8, headDim: 128, maxLen: 300, positions: [31, 32, 299], split: 'adaptive' },
    { name: 'two-pass (adaptive) forced chunkings', heads: 4, kvHeads: 4, headDim: 128, maxLen: 600, positions: [599], split: 'adaptive', chunks: [3, 38] },
    // Fused: 1 chunk (direct output), 2 chunks, 256 chunks (merge over the most chunks, 4-step unroll + tail);
    // records repeat on one prepared kernel, so a counter not reset by the merging workgroup shows as a wrong p.
    { name: 'fused, 1, 2, 5 and 256 chunks', heads: 2, kvHeads: 2, headDim: 128, maxLen: 600, positions: [255, 599], split: 'fused', chunks: [1, 2, 5, 256, 1] },
    // The default is 256 invocations where the limits allow; 128 is the fallback under WebGPU's default 16 KiB.
    { name: 'fused, 128-invocation workgroups (fallback)', heads: 4, kvHeads: 4, headDim: 128, maxLen: 600, positions: [599], split: 'fused', chunks: [3, 38], workgroupSize: 128 },
    { name: 'fused, 128-invocation workgroups, GQA head 64', heads: 6, kvHeads: 2, headDim: 64, maxLen: 130, positions: [129], split: 'fused', chunks: [1, 5], workgroupSize: 128 },
    { name: 'fixed 64-position split (bench baseline), chunk edges', heads: 8, kvHeads: 8, headDim: 128, maxLen: 300, positions: [63, 64, 299], split: 'fixed-64' },
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
      const attention = prepareDecodeAttention(device, kernels, { ...bufs, step: step.buffer }, shape, {
        split: c.split,
        maxChunks: Math.max(...(c.chunks ?? [0])),
        ...(c.workgroupSize ? { workgroupSize: c.workgroupSize } : {}),
      });
      for (const position of c.positions) {
        const want = decodeAttentionReference(q, kCache, vCache, shape, position);
        for (const chunks of c.chunks ?? [undefined]) {
          step.setPosition(position);
          const encoder = device.createCommandEncoder();
          const pass = encoder.beginComputePass();
          attention.record(pass, position, chunks === undefined ? {} : { chunks });
          pass.end();
          device.queue.submit([encoder.finish()]);
          const got = (await readF32(device, bufs.out, 5 + c.heads * c.headDim)).subarray(5);
          const stats = compareArrays(got, want);
          expect(stats.maxAbs, `p=${position} chunks=${chunks}`).toBeLessThan(MAX_ABS);
          expect(stats.nmse).toBeLessThan(1e-10);
        }
      }
      attention.destroy();
      step.destroy();
      for (const b of Object.values(bufs)) b.destroy();
    });
  }
});

describe('decode attention with the RoPE + cache append fused in', () => {
  const cases = [
    { name: 'GQA 6 → 2, head 64, default chunking', heads: 6, kvHeads: 2, headDim: 64, maxLen: 70, positions: [0, 17, 69], chunks: [undefined] },
    { name: 'MHA 4 × 128, chooser and forced chunkings', heads: 4, kvHeads: 4, headDim: 128, maxLen: 300, positions: [40, 299], chunks: [undefined, 3, 7] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { device } = await testGpuContext();
      const kernels = new KernelCache(device);
      const { heads, kvHeads, headDim, maxLen } = c;
      const qDim = heads * headDim;
      const kvDim = kvHeads * headDim;
      const shape = { heads, kvHeads, headDim, maxLen, qOffset: 0, outOffset: 0 };
      const table = llamaRopeTable({ theta: 10000, headDim, maxLen });
      const kInit = Float32Array.from(randomFloats(kvHeads * maxLen * headDim, 12), (v) => v * 3);
      const vInit = randomFloats(kvHeads * maxLen * headDim, 13);
      const step = new DecodeStepUniform(device);
      for (const position of c.positions) {
        for (const chunks of c.chunks) {
          const qkv = randomFloats(qDim + 2 * kvDim, 14 + position);
          const bufs = {
            q: uploadBuffer(device, 'qkv', qkv),
            kCache: uploadBuffer(device, 'k', kInit),
            vCache: uploadBuffer(device, 'v', vInit),
            out: createStorageBuffer(device, 'out', qDim * 4),
            cos: uploadBuffer(device, 'cos', table.cos),
            sin: uploadBuffer(device, 'sin', table.sin),
          };
          const attention = prepareDecodeAttention(device, kernels, { ...bufs, step: step.buffer }, shape, {
            maxChunks: 8,
            rope: { cos: bufs.cos, sin: bufs.sin, kOffset: qDim, vOffset: qDim + kvDim },
          });
          step.setPosition(position);
          const encoder = device.createCommandEncoder();
          const pass = encoder.beginComputePass();
          attention.record(pass, position, chunks === undefined ? {} : { chunks });
          pass.end();
          device.queue.submit([encoder.finish()]);
          // Reference: rope + append (f64), then attention over the updated caches.
          const kWant = Float32Array.from(kInit);
          const vWant = Float32Array.from(vInit);
          const rotated = Float32Array.from(ropeAppendReference(qkv, kWant, vWant, table, { heads, kvHeads, headDim, maxLen }, position));
          const want = decodeAttentionReference(rotated, kWant, vWant, shape, position);
          const got = await readF32(device, bufs.out, qDim);
          const stats = compareArrays(got, want);
          expect(stats.maxAbs, `p=${position} chunks=${chunks}`).toBeLessThan(MAX_ABS);
          expect(compareArrays(await readF32(device, bufs.kCache, kWant.length), kWant).maxAbs).toBeLessThan(1e-6);
          expect(compareArrays(await readF32(device, bufs.vCache, vWant.length), vWant).maxAbs).toBe(0);
          attention.destroy();
          for (const b of Object.values(bufs)) b.destroy();
        }
      }
      step.destroy();
    });
  }
});

describe('chooseAttentionChunks', () => {
  it('fused: keeps 32-position chunks while heads × chunks fits 256 workgroups, then doubles the chunk length', () => {
    expect(chooseAttentionChunks(1, 32)).toBe(1);
    expect(chooseAttentionChunks(300, 32)).toBe(5); // 64 positions
    expect(chooseAttentionChunks(1000, 32)).toBe(8); // 128
    expect(chooseAttentionChunks(2000, 32)).toBe(8); // 256
    expect(chooseAttentionChunks(3500, 32)).toBe(14); // 256
    expect(chooseAttentionChunks(4096, 40)).toBe(16); // 256 (past the target)
    expect(chooseAttentionChunks(200, 4)).toBe(7); // 32
  });
  it('two-pass baseline: the run-6 fit (1792 workgroups)', () => {
    expect(chooseAttentionChunks(300, 32, TWO_PASS_TARGET_WORKGROUPS)).toBe(10); // 32 positions
    expect(chooseAttentionChunks(1000, 32, TWO_PASS_TARGET_WORKGROUPS)).toBe(32); // 32
    expect(chooseAttentionChunks(2000, 32, TWO_PASS_TARGET_WORKGROUPS)).toBe(32); // 64
    expect(chooseAttentionChunks(3500, 32, TWO_PASS_TARGET_WORKGROUPS)).toBe(55); // 64
    expect(chooseAttentionChunks(4096, 32, TWO_PASS_TARGET_WORKGROUPS)).toBe(32); // 128
  });
  it('covers every position within the shader limits (≤ 256 positions per chunk, ≤ 256 chunks)', () => {
    for (const heads of [1, 8, 32, 40, 64]) {
      for (const length of [1, 15, 16, 17, 255, 256, 257, 999, 4096, 30000, MAX_ATTENTION_CONTEXT]) {
        const chunks = chooseAttentionChunks(length, heads);
        expect(chunks).toBeGreaterThanOrEqual(1);
        expect(chunks).toBeLessThanOrEqual(256);
        expect(Math.ceil(length / chunks)).toBeLessThanOrEqual(256);
      }
    }
  });
  it('sizes the partials for the most chunks any position up to the cache length uses', () => {
    expect(maxAttentionChunks(4096, 32)).toBe(16);
    expect(maxAttentionChunks(4096, 32, TWO_PASS_TARGET_WORKGROUPS)).toBe(56);
    expect(maxAttentionChunks(16, 4)).toBe(1);
    expect(maxAttentionChunks(300, 8)).toBe(10);
  });
});
