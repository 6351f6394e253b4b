import { describe, expect, it } from 'vitest';
import { prefillChunks, prefillChunkTokens, SAFE_PREFILL_CHUNK_TOKENS, WIDE_PREFILL_CHUNK_TOKENS } from './prefill-chunking';

describe('prefillChunkTokens', () => {
  it('is 16 on SwiftShader-like (subgroup 4) and lavapipe-like (subgroup 8) adapters, on unknown subgroup sizes and on fallback adapters', () => {
    expect(prefillChunkTokens({ subgroupMinSize: 4, isFallbackAdapter: false })).toBe(16);
    expect(prefillChunkTokens({ subgroupMinSize: 8, isFallbackAdapter: true })).toBe(16);
    expect(prefillChunkTokens({ subgroupMinSize: 0, isFallbackAdapter: false })).toBe(SAFE_PREFILL_CHUNK_TOKENS);
    expect(prefillChunkTokens({ subgroupMinSize: 8, isFallbackAdapter: false })).toBe(SAFE_PREFILL_CHUNK_TOKENS);
    expect(prefillChunkTokens({ subgroupMinSize: 32, isFallbackAdapter: true })).toBe(SAFE_PREFILL_CHUNK_TOKENS);
  });

  it('is large where every subgroup is at least 32 wide (NVIDIA 32, AMD 64)', () => {
    expect(prefillChunkTokens({ subgroupMinSize: 32, isFallbackAdapter: false })).toBe(WIDE_PREFILL_CHUNK_TOKENS);
    expect(prefillChunkTokens({ subgroupMinSize: 64, isFallbackAdapter: false })).toBe(WIDE_PREFILL_CHUNK_TOKENS);
    expect(WIDE_PREFILL_CHUNK_TOKENS).toBeGreaterThanOrEqual(256);
  });
});

describe('prefillChunks', () => {
  it('covers [0, length) in order with runs of at most chunkTokens', () => {
    for (const [length, chunk] of [[1, 16], [16, 16], [17, 16], [76, 16], [330, 512], [0, 4]] as const) {
      const runs = prefillChunks(length, chunk);
      expect(runs.length).toBe(Math.ceil(length / chunk));
      let next = 0;
      for (const r of runs) {
        expect(r.start).toBe(next);
        expect(r.end - r.start).toBeGreaterThan(0);
        expect(r.end - r.start).toBeLessThanOrEqual(chunk);
        next = r.end;
      }
      expect(next).toBe(length);
    }
  });

  it('rejects a non-positive chunk', () => {
    expect(() => prefillChunks(5, 0)).toThrow(RangeError);
  });
});
