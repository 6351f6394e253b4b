import { describe, expect, it } from 'vitest';
import { expandImagePlaceholders } from './image-placeholders';

describe('expandImagePlaceholders', () => {
  it('expands each placeholder to its image count, in order, and reports the spans', () => {
    const { inputIds, imageSpans } = expandImagePlaceholders([1, 100, 14, 101, 100, 14, 101, 7], {
      imageTokenId: 14,
      tokenCounts: [2, 3],
    });
    expect(Array.from(inputIds)).toEqual([1, 100, 14, 14, 101, 100, 14, 14, 14, 101, 7]);
    expect(imageSpans).toEqual([
      { start: 2, length: 2 },
      { start: 6, length: 3 },
    ]);
  });

  it('leaves a prompt without images unchanged', () => {
    const { inputIds, imageSpans } = expandImagePlaceholders([1, 5, 6], { imageTokenId: 14, tokenCounts: [] });
    expect(Array.from(inputIds)).toEqual([1, 5, 6]);
    expect(imageSpans).toEqual([]);
  });

  it('rejects a placeholder/image count mismatch and non-positive counts', () => {
    for (const tokenCounts of [[], [2, 2], [0], [1.5]]) {
      expect(() => expandImagePlaceholders([1, 14, 2], { imageTokenId: 14, tokenCounts }), String(tokenCounts)).toThrow(
        expect.objectContaining({ code: 'invalid-request' }),
      );
    }
  });
});
