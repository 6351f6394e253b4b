import { describe, expect, it } from 'vitest';
import { float16Bits, float16Value, roundToFloat16 } from '../../../src/gpu/float16-bits';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { readF32 } from '../../../src/testing/gpu-readback';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { chooseAttentionChunks, type DecodeAttentionShape, type KvDtype, MAX_ATTENTION_CONTEXT, maxAttentionChunks, prepareDecodeAttention } from './decode-attention';
import { decodeAttentionReference } from './decode-attention-reference';
import { DecodeStepUniform } from './decode-step-uniform';
import { llamaRopeTable } from './llama-rope-table';

// Tolerance: f32 dot products of 128 terms, exp and a weighted sum over ≤ 2048 positions (values in [-3, 3]):
// max-abs 2e-5, NMSE 1e-10. The cache rows: RoPE is two f32 products and a sum per element (≤ 1e-6); v is copied.
const MAX_ABS = 2e-5;
// f16 cache (q4f16): the step attends row p in f32 (the same tolerance as f32 caches), and the cache keeps it rounded
// once to f16. The kernel rounds its f32 RoPE, the reference its f64 one, and WGSL's f32 → f16 conversion may round
// either way, so a stored element is within one f16 ulp (≤ 2^-10 · |x|, or 2^-24 among subnormals) of the
// reference's; the reference's cache then takes the GPU's rows, so later steps attend the same cache.
const F16_ULP_REL = 2 ** -10;

/** Worst |got − want| in f16 ulps of want (see F16_ULP_REL). */
function f16UlpError(got: Float32Array, want: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] ?? NaN) - (want[i] ?? 0)) / (F16_ULP_REL * Math.abs(want[i] ?? 0) + 2 ** -24));
  return worst;
}

async function readF16(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  return Float32Array.from(new Uint16Array(await readBuffer(device, buffer, count * 2)), float16Value);
}

describe('decode attention (RoPE + cache append, split-K, fused merge) on real WebGPU', () => {
  const cases: {
    name: string;
    heads: number;
    kvHeads: number;
    headDim: number;
    maxLen: number;
    positions: number[];
    /** Forced chunk counts (each run at every position) instead of the chooser's. */
    chunks?: number[];
    workgroupSize?: 128 | 256;
    /** q after a 3-head gap in the qkv buffer and the output at element 5 (else packed from 0, as the decode step). */
    offsets?: boolean;
    /** Default float32. */
    kvDtype?: KvDtype;
  }[] = [
    // p ≥ maxLen: nothing rotated or appended, the maxLen cached positions attended.
    { name: 'first token (p = 0), then p past the cache', heads: 4, kvHeads: 4, headDim: 128, maxLen: 16, positions: [0, 5, 15, 20], offsets: true },
    { name: 'MHA 8 × 128, p at and around 32-position chunk edges', heads: 8, kvHeads: 8, headDim: 128, maxLen: 300, positions: [31, 32, 33, 200, 299], offsets: true },
    // 2 heads: chunks stay 32 positions long, so p = 2047 has 64 chunks and p = 2000 63 (merge unroll and tail).
    { name: 'MHA 2 × 128, 63 and 64 chunks', heads: 2, kvHeads: 2, headDim: 128, maxLen: 2048, positions: [2000, 2047] },
    // Chunks of 16 … 256 positions (at p = 599: 3 → 200, 7 → 86, 19 → 32, 38 → 16): key steps of 4 × 16 positions,
    // value rows past the prefetched ones in four-row steps and a one-row tail, short last chunks.
    { name: 'MHA 4 × 128, forced chunkings', heads: 4, kvHeads: 4, headDim: 128, maxLen: 600, positions: [437, 599], chunks: [3, 7, 19, 38], offsets: true },
    { name: 'GQA 6 → 2, head 64', heads: 6, kvHeads: 2, headDim: 64, maxLen: 130, positions: [0, 17, 129] },
    // 1 chunk (direct output), 2 chunks, 256 chunks (merge over the most chunks, 4-step unroll + tail); records
    // repeat on one prepared kernel, so a counter not reset by the merging workgroup shows as a wrong result.
    { name: '1, 2, 5 and 256 chunks', heads: 2, kvHeads: 2, headDim: 128, maxLen: 600, positions: [255, 599], chunks: [1, 2, 5, 256, 1] },
    // The default is 256 invocations where the limits allow; 128 is the fallback under WebGPU's default 16 KiB.
    { name: '128-invocation workgroups (fallback)', heads: 4, kvHeads: 4, headDim: 128, maxLen: 600, positions: [599], chunks: [3, 38], workgroupSize: 128 },
    { name: '128-invocation workgroups, GQA head 64', heads: 6, kvHeads: 2, headDim: 64, maxLen: 130, positions: [129], chunks: [1, 5], workgroupSize: 128, offsets: true },
    // f16 caches (q4f16): the first token, chunk edges, the last row and p past the cache; one chunk and merged chunks.
    { name: 'f16 cache: GQA 6 → 2, head 64', heads: 6, kvHeads: 2, headDim: 64, maxLen: 130, positions: [0, 32, 129, 140], kvDtype: 'float16' },
    { name: 'f16 cache: MHA 4 × 128, forced chunkings', heads: 4, kvHeads: 4, headDim: 128, maxLen: 600, positions: [437, 599], chunks: [1, 7, 38], offsets: true, kvDtype: 'float16' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { device } = await testGpuContext();
      const kernels = new KernelCache(device);
      const { heads, kvHeads, headDim, maxLen } = c;
      const qDim = heads * headDim;
      const kvDim = kvHeads * headDim;
      const qOffset = c.offsets ? 3 * headDim : 0;
      const outOffset = c.offsets ? 5 : 0;
      const f16 = c.kvDtype === 'float16';
      const shape: DecodeAttentionShape = { heads, kvHeads, headDim, maxLen, qOffset, outOffset, ...(f16 ? { kvDtype: 'float16' } : {}) };
      const table = llamaRopeTable({ theta: 10000, headDim, maxLen });
      // Keys scaled up so the softmax is peaked (a wrong max or a missing position shows); an f16 cache holds f16 values.
      const stored = (v: Float32Array): Float32Array => (f16 ? roundToFloat16(v) : v);
      const kCache = stored(Float32Array.from(randomFloats(kvDim * maxLen, 2), (v) => v * 3));
      const vCache = stored(randomFloats(kvDim * maxLen, 3));
      const upload = (label: string, v: Float32Array): GPUBuffer => uploadBuffer(device, label, f16 ? float16Bits(v) : v);
      const qkvLength = qOffset + qDim + 2 * kvDim;
      const step = new DecodeStepUniform(device);
      const bufs = {
        qkv: createStorageBuffer(device, 'qkv', qkvLength * 4),
        kCache: upload('k', kCache),
        vCache: upload('v', vCache),
        cos: uploadBuffer(device, 'cos', table.cos),
        sin: uploadBuffer(device, 'sin', table.sin),
        out: createStorageBuffer(device, 'out', (outOffset + qDim) * 4),
      };
      const attention = prepareDecodeAttention(kernels, { ...bufs, step: step.buffer }, shape, {
        maxChunks: Math.max(...(c.chunks ?? [0])),
        ...(c.workgroupSize ? { workgroupSize: c.workgroupSize } : {}),
      });
      let run = 0;
      for (const position of c.positions) {
        for (const chunks of c.chunks ?? [undefined]) {
          // A new token each run; the reference appends it to the CPU caches as the kernel does to the GPU ones.
          const qkv = Float32Array.from(randomFloats(qkvLength, 100 + run++), (v, i) => (i >= qOffset + qDim && i < qOffset + qDim + kvDim ? 3 * v : v));
          device.queue.writeBuffer(bufs.qkv, 0, qkv);
          step.setPosition(position);
          const encoder = device.createCommandEncoder();
          const pass = encoder.beginComputePass();
          attention.record(pass, position, chunks === undefined ? {} : { chunks });
          pass.end();
          device.queue.submit([encoder.finish()]);
          const want = decodeAttentionReference(qkv, kCache, vCache, table, shape, position);
          const got = (await readF32(device, bufs.out, outOffset + qDim)).subarray(outOffset);
          const stats = compareArrays(got, want);
          expect(stats.maxAbs, `p=${position} chunks=${chunks}`).toBeLessThan(MAX_ABS);
          expect(stats.nmse).toBeLessThan(1e-10);
          if (f16) {
            const [gotK, gotV] = [await readF16(device, bufs.kCache, kCache.length), await readF16(device, bufs.vCache, vCache.length)];
            expect(f16UlpError(gotK, kCache), `k cache p=${position}`).toBeLessThanOrEqual(1);
            expect(f16UlpError(gotV, vCache), `v cache p=${position}`).toBeLessThanOrEqual(1);
            kCache.set(gotK);
            vCache.set(gotV);
          } else {
            expect(compareArrays(await readF32(device, bufs.kCache, kCache.length), kCache).maxAbs, `k cache p=${position}`).toBeLessThan(1e-6);
            expect(compareArrays(await readF32(device, bufs.vCache, vCache.length), vCache).maxAbs, `v cache p=${position}`).toBe(0);
          }
        }
      }
      attention.destroy();
      step.destroy();
      for (const b of Object.values(bufs)) b.destroy();
    });
  }

  it('rejects a head_dim the kernel cannot hold and a cache shorter than the shape', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const big = createStorageBuffer(device, 'big', 4 * 128 * 64 * 4);
    const small = createStorageBuffer(device, 'small', 256);
    const buffers = { qkv: big, step: big, kCache: big, vCache: big, cos: big, sin: big, out: big };
    expect(() => prepareDecodeAttention(kernels, buffers, { heads: 4, kvHeads: 4, headDim: 6, maxLen: 64 })).toThrow(expect.objectContaining({ code: 'invalid-model' }));
    expect(() => prepareDecodeAttention(kernels, { ...buffers, vCache: small }, { heads: 4, kvHeads: 4, headDim: 128, maxLen: 64 })).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringContaining('buffer vCache holds 256 bytes, needs 131072') }),
    );
    expect(() => prepareDecodeAttention(kernels, buffers, { heads: 4, kvHeads: 4, headDim: 128, maxLen: MAX_ATTENTION_CONTEXT + 1 })).toThrow(
      expect.objectContaining({ code: 'context-overflow' }),
    );
    for (const b of [big, small]) b.destroy();
  });
});

describe('chooseAttentionChunks', () => {
  it('keeps 32-position chunks while heads × chunks fits 256 workgroups, then doubles the chunk length', () => {
    expect(chooseAttentionChunks(1, 32)).toBe(1);
    expect(chooseAttentionChunks(300, 32)).toBe(5); // 64 positions
    expect(chooseAttentionChunks(1000, 32)).toBe(8); // 128
    expect(chooseAttentionChunks(2000, 32)).toBe(8); // 256
    expect(chooseAttentionChunks(3500, 32)).toBe(14); // 256
    expect(chooseAttentionChunks(4096, 40)).toBe(16); // 256 (past the target)
    expect(chooseAttentionChunks(200, 4)).toBe(7); // 32
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
    expect(maxAttentionChunks(16, 4)).toBe(1);
    expect(maxAttentionChunks(300, 8)).toBe(10);
  });
});
