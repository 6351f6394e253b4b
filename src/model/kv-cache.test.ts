import { describe, expect, it } from 'vitest';
import { readBuffer } from '../gpu/gpu-buffers';
import type { ModelSpec } from '../protocol/model-spec';
import { testGpuContext } from '../testing/node-gpu';
import { chooseContextTokens, DEFAULT_KV_BUDGET_BYTES, KvCache, MIN_CONTEXT_TOKENS } from './kv-cache';

// Sarashina2-Vision-8B's decoder: 32 layers, 8 kv heads of 128 (f32 cache: 4 KiB per position per buffer).
const SHAPE_8B = { layers: 32, kvHeads: 8, headDim: 128, elementBytes: 4 };
const BIG_LIMITS = { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31 };

describe('chooseContextTokens', () => {
  it('defaults to min(maxPositionEmbeddings, budget, buffer limits)', () => {
    expect(chooseContextTokens(SHAPE_8B, BIG_LIMITS, { maxPositionEmbeddings: 4096 })).toBe(4096);
    // The budget: 1 GiB / (2 · 32 · 4 KiB) = 4096 tokens, so a longer model is capped there.
    expect(chooseContextTokens(SHAPE_8B, BIG_LIMITS, { maxPositionEmbeddings: 32768 })).toBe(DEFAULT_KV_BUDGET_BYTES / (2 * 32 * 4096));
    expect(chooseContextTokens(SHAPE_8B, BIG_LIMITS, { maxPositionEmbeddings: 32768, budgetBytes: 2 ** 29 })).toBe(2048);
    // Buffer limit 128 MiB (WebGPU's default binding size) → 32768 tokens per buffer: not the bound here.
    expect(chooseContextTokens(SHAPE_8B, { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 }, { maxPositionEmbeddings: 4096 })).toBe(4096);
    // A tiny binding limit bounds it.
    expect(chooseContextTokens(SHAPE_8B, { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 4096 * 1000 }, { maxPositionEmbeddings: 4096 })).toBe(1000);
  });

  it('honours a requested capacity exactly, or refuses it naming the limit', () => {
    expect(chooseContextTokens(SHAPE_8B, BIG_LIMITS, { maxPositionEmbeddings: 4096, requested: 1000 })).toBe(1000);
    expect(() => chooseContextTokens(SHAPE_8B, BIG_LIMITS, { maxPositionEmbeddings: 4096, requested: 5000 })).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    expect(() => chooseContextTokens(SHAPE_8B, BIG_LIMITS, { maxPositionEmbeddings: 4096, requested: 0 })).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    const small = { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 4096 * 1000 };
    expect(() => chooseContextTokens(SHAPE_8B, small, { maxPositionEmbeddings: 4096, requested: 2000 })).toThrow(
      expect.objectContaining({ code: 'gpu-limits-too-low', message: expect.stringContaining('at most 1000') }),
    );
  });

  it('refuses a GPU that cannot hold MIN_CONTEXT_TOKENS', () => {
    const tiny = { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 4096 * (MIN_CONTEXT_TOKENS - 1) };
    expect(() => chooseContextTokens(SHAPE_8B, tiny, { maxPositionEmbeddings: 4096 })).toThrow(expect.objectContaining({ code: 'gpu-limits-too-low' }));
  });
});

describe('KvCache', () => {
  it('allocates zeroed [1, kvHeads, capacity, headDim] buffers per layer and frees them', async () => {
    const { device } = await testGpuContext();
    const spec = { text: { numLayers: 3, numKvHeads: 2, headDim: 16 } } as unknown as ModelSpec;
    const cache = await KvCache.create(device, spec, { capacityTokens: 40, elementBytes: 4 });
    expect(cache.keys.length).toBe(3);
    expect(cache.values.length).toBe(3);
    expect(cache.dims).toEqual([1, 2, 40, 16]);
    expect(cache.sizeBytes).toBe(6 * 2 * 40 * 16 * 4);
    const bytes = new Float32Array(await readBuffer(device, cache.values[2]!, 2 * 40 * 16 * 4));
    expect(bytes.every((v) => v === 0)).toBe(true);
    cache.dispose();
  });
});
