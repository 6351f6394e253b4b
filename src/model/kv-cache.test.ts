import { describe, expect, it } from 'vitest';
import { readBuffer } from '../gpu/gpu-buffers';
import type { ModelSpec } from '../protocol/model-spec';
import { testGpuContext } from '../testing/node-gpu';
import { real8bSpec } from '../testing/real-8b';
import { KvCache } from './kv-cache';
import { kvCacheBytes } from './memory-estimate';

describe('KvCache', () => {
  it('allocates zeroed [1, kvHeads, capacity, headDim] buffers per layer and frees them', async () => {
    const { device } = await testGpuContext();
    const spec = { text: { numLayers: 3, numKvHeads: 2, headDim: 16 } } as unknown as ModelSpec;
    const cache = await KvCache.create(device, spec, { capacityTokens: 40, elementBytes: 4 });
    expect(cache.keys.length).toBe(3);
    expect(cache.values.length).toBe(3);
    expect(cache.dims).toEqual([1, 2, 40, 16]);
    expect(cache.sizeBytes).toBe(6 * 2 * 40 * 16 * 4);
    expect(cache.sizeBytes).toBe(kvCacheBytes(spec, 4, 40));
    const bytes = new Float32Array(await readBuffer(device, cache.values[2]!, 2 * 40 * 16 * 4));
    expect(bytes.every((v) => v === 0)).toBe(true);
    cache.dispose();
  });

  it('the 8B (real config.json: 32 layers, 32 KV heads × 128): each layer buffer holds 32 · 128 elements per token', async () => {
    const { device } = await testGpuContext();
    const cache = await KvCache.create(device, real8bSpec(), { capacityTokens: 2, elementBytes: 2 });
    expect(cache.keys.length).toBe(32);
    expect(cache.dims).toEqual([1, 32, 2, 128]);
    expect(cache.keys[0]?.size).toBe(32 * 128 * 2 * 2);
    cache.dispose();
  });
});
