import { describe, expect, it } from 'vitest';
import { promptImageKeys, reusablePrefixLength } from './prefix-plan';

const prompt = (ids: number[], spans: { start: number; length: number }[] = [], keys: string[] = []) => ({
  inputIds: Int32Array.from(ids),
  imageSpans: spans,
  imageKeys: keys,
});

describe('reusablePrefixLength', () => {
  it('is 0 with an empty cache', () => {
    expect(reusablePrefixLength({ ids: [], imageKeys: [] }, prompt([1, 2, 3]))).toBe(0);
  });

  it('stops at the first differing id', () => {
    const cached = { ids: [1, 2, 3, 4], imageKeys: [null, null, null, null] };
    expect(reusablePrefixLength(cached, prompt([1, 2, 9, 4, 5]))).toBe(2);
  });

  it('leaves the last prompt position to run (its logits are needed)', () => {
    const cached = { ids: [1, 2, 3, 4], imageKeys: [null, null, null, null] };
    expect(reusablePrefixLength(cached, prompt([1, 2, 3]))).toBe(2);
    expect(reusablePrefixLength(cached, prompt([1, 2, 3, 4, 5, 6]))).toBe(4);
  });

  it('treats the same image token with other pixels as different', () => {
    const p = prompt([1, 14, 14, 2, 3], [{ start: 1, length: 2 }], ['b']);
    const cached = { ids: [1, 14, 14, 2, 3], imageKeys: [null, 'a', 'a', null, null] };
    expect(reusablePrefixLength(cached, p)).toBe(1);
    const same = { ids: [1, 14, 14, 2, 3], imageKeys: [null, 'b', 'b', null, null] };
    expect(reusablePrefixLength(same, p)).toBe(4);
  });

  it('after a dropped turn took its image away, reuses only what is the same picture at the same positions', () => {
    // Cached: <s> [a a] [b] text; the fitted prompt lost image a (its turn was dropped), so b moved to a's place.
    const cached = { ids: [1, 14, 14, 14, 5, 6], imageKeys: [null, 'a', 'a', 'b', null, null] };
    expect(reusablePrefixLength(cached, prompt([1, 14, 5, 6, 7], [{ start: 1, length: 1 }], ['b']))).toBe(1);
    // The same picture as the dropped one (same key, same size) at the same place: its rows are exactly those needed.
    expect(reusablePrefixLength(cached, prompt([1, 14, 14, 7, 8], [{ start: 1, length: 2 }], ['a']))).toBe(3);
    // The same picture shrunk to fit (another key): recomputed.
    expect(reusablePrefixLength(cached, prompt([1, 14, 7, 8], [{ start: 1, length: 1 }], ['a@smaller']))).toBe(1);
  });

  it('never starts inside an image span', () => {
    // The cache ends in the middle of the image (an earlier request stopped there).
    const p = prompt([1, 14, 14, 14, 2, 3], [{ start: 1, length: 3 }], ['a']);
    const cached = { ids: [1, 14, 14], imageKeys: [null, 'a', 'a'] };
    expect(reusablePrefixLength(cached, p)).toBe(1);
  });
});

describe('promptImageKeys', () => {
  it('marks each image position with its image key', () => {
    const keys = promptImageKeys(prompt([1, 14, 14, 2, 14, 3], [{ start: 1, length: 2 }, { start: 4, length: 1 }], ['a', 'b']));
    expect(keys).toEqual([null, 'a', 'a', null, 'b', null]);
  });
});
