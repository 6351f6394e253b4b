import { describe, expect, it } from 'vitest';
import { isSarashinaError } from '../../protocol/errors';
import { fixtureJson } from './fixture-files';
import { roundHalfEven, smartResize } from './smart-resize';

interface Row {
  h: number;
  w: number;
  minPixels: number;
  maxPixels: number;
  out?: [number, number];
  error?: string;
}

describe('roundHalfEven', () => {
  it('rounds ties to the even neighbour like Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 22.5, 30.5, -0.5, -1.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 22, 30, -0, -2]);
    expect([2.4999, 2.5001, 7, 0.49].map(roundHalfEven)).toEqual([2, 3, 7, 0]);
  });
});

describe('smartResize', () => {
  it('rounds 630×854 half-to-even (22.5 → 22, 30.5 → 30), unlike round-half-up', () => {
    expect(smartResize(630, 854, { factor: 28, minPixels: 3136, maxPixels: 1003520 })).toEqual({ height: 616, width: 840 });
    expect(smartResize(434, 294, { factor: 28, minPixels: 3136, maxPixels: 1003520 })).toEqual({ height: 448, width: 280 });
  });

  it('matches transformers 5.17 smart_resize on 1,675 sizes and budgets', () => {
    const rows = fixtureJson<Row[]>('smart-resize.json');
    let compared = 0;
    for (const r of rows) {
      const options = { factor: 28, minPixels: r.minPixels, maxPixels: r.maxPixels };
      if (r.h < 10 || r.w < 10) {
        // transformers 4.47 (pinned by Sarashina2-Vision) refuses these; 5.x no longer checks.
        expect(() => smartResize(r.h, r.w, options)).toThrow(/at least 10 px/);
        continue;
      }
      if (r.error !== undefined) {
        expect(() => smartResize(r.h, r.w, options), `${r.h}x${r.w}`).toThrow(/aspect ratio/);
      } else {
        const got = smartResize(r.h, r.w, options);
        expect([got.height, got.width], `${r.h}x${r.w} ${r.minPixels}..${r.maxPixels}`).toEqual(r.out);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1500);
  });

  it('throws invalid-request naming the size for tiny sides and extreme aspect ratios', () => {
    const options = { factor: 28, minPixels: 3136, maxPixels: 1003520 };
    for (const [h, w, pattern] of [
      [9, 100, /100×9 px is too small/],
      [3000, 14, /14×3000 px has an aspect ratio of 214\.3/],
    ] as const) {
      try {
        smartResize(h, w, options);
        expect.unreachable();
      } catch (e) {
        expect(isSarashinaError(e, 'invalid-request')).toBe(true);
        expect((e as Error).message).toMatch(pattern);
      }
    }
  });
});
