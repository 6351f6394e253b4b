import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStorageBuffer } from '../gpu/gpu-buffers';
import { randomFloats } from '../testing/compare';
import { testGpuContext } from '../testing/node-gpu';
import { ImageFeatureCache, imageContentKey } from './image-feature-cache';
import type { ImageFeatures } from './vision-language-model';

/** Real GPU features of `rows` × 64 f32; `freed` records which were released (buffer destroyed). */
async function makeFeatures(rows: number, freed: Set<string>, label: string): Promise<ImageFeatures> {
  const { device } = await testGpuContext();
  const buffer = createStorageBuffer(device, label, rows * 64 * 4);
  return {
    buffer,
    rows,
    rowsPerImage: [rows],
    release: () => {
      if (freed.has(label)) throw new Error(`${label} released twice`);
      freed.add(label);
      buffer.destroy();
    },
  };
}

const KB = 1024; // 4 rows × 64 × 4 bytes

describe('ImageFeatureCache', () => {
  it('keeps entries under the byte budget, evicting the least recently used; hits refresh recency', async () => {
    const freed = new Set<string>();
    const cache = new ImageFeatureCache({ budgetBytes: 3 * KB });
    for (const k of ['a', 'b', 'c']) cache.put(k, await makeFeatures(4, freed, k)).release();
    expect(cache.sizeBytes).toBe(3 * KB);
    expect(freed.size).toBe(0); // release() of a cached entry's handle frees nothing
    cache.get('a')?.release(); // a is now the most recent
    cache.put('d', await makeFeatures(4, freed, 'd')).release();
    expect([...freed]).toEqual(['b']);
    expect(['a', 'b', 'c', 'd'].map((k) => cache.has(k))).toEqual([true, false, true, true]);
    cache.put('e', await makeFeatures(8, freed, 'e')).release(); // 2 KB: evicts c and a
    expect([...freed].sort()).toEqual(['a', 'b', 'c']);
    expect(cache.sizeBytes).toBe(3 * KB);
    cache.clear();
    expect([...freed].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(cache.count).toBe(0);
  });

  it('an entry evicted while a request holds it is freed when the last handle is released', async () => {
    const freed = new Set<string>();
    const cache = new ImageFeatureCache({ budgetBytes: KB });
    const held = cache.put('a', await makeFeatures(4, freed, 'a'));
    const second = cache.get('a');
    cache.put('b', await makeFeatures(4, freed, 'b')).release();
    expect(cache.has('a')).toBe(false);
    expect(freed.has('a')).toBe(false);
    held.release();
    held.release(); // a handle releases once
    expect(freed.has('a')).toBe(false);
    second?.release();
    expect(freed.has('a')).toBe(true);
  });

  it('features larger than the budget are not cached and are freed by their handle; a duplicate put frees the newcomer', async () => {
    const freed = new Set<string>();
    const cache = new ImageFeatureCache({ budgetBytes: KB });
    const big = cache.put('big', await makeFeatures(8, freed, 'big'));
    expect(cache.has('big')).toBe(false);
    big.release();
    expect(freed.has('big')).toBe(true);
    const first = cache.put('a', await makeFeatures(4, freed, 'a1'));
    const again = cache.put('a', await makeFeatures(4, freed, 'a2'));
    expect(freed.has('a2')).toBe(true);
    expect(again.buffer).toBe(first.buffer);
    let encodes = 0;
    const hit = await cache.getOrEncode('a', async () => {
      encodes++;
      return makeFeatures(4, freed, 'never');
    });
    expect(encodes).toBe(0);
    expect(hit.buffer).toBe(first.buffer);
  });

  it('imageContentKey is the sha256 of the grids and pixels: equal content, equal key; any change, another key', async () => {
    const pixels = randomFloats(4 * 1176, 9);
    const grids = [{ t: 1, h: 2, w: 2 }];
    const key = await imageContentKey({ pixelValues: pixels, grids });
    const header = new Uint32Array([1, 1, 2, 2]);
    const want = createHash('sha256').update(new Uint8Array(header.buffer)).update(new Uint8Array(pixels.buffer)).digest('hex');
    expect(key).toBe(want);
    expect(await imageContentKey({ pixelValues: pixels.slice(), grids: [{ t: 1, h: 2, w: 2 }] })).toBe(key);
    expect(await imageContentKey({ pixelValues: pixels, grids: [{ t: 1, h: 4, w: 1 }] })).not.toBe(key);
    const changed = pixels.slice();
    changed[4000] = (changed[4000] ?? 0) + 1e-3;
    expect(await imageContentKey({ pixelValues: changed, grids })).not.toBe(key);
    // A subarray view hashes its own bytes, not the whole underlying buffer.
    const padded = new Float32Array(pixels.length + 8);
    padded.set(pixels, 4);
    expect(await imageContentKey({ pixelValues: padded.subarray(4, 4 + pixels.length), grids })).toBe(key);
  });
});
