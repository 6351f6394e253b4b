import { describe, expect, it } from 'vitest';
import type { ResampleFilter } from '../../protocol/model-spec';
import { decodePng } from './decode-png';
import { fixtureBytes, fixtureJson } from './fixture-files';
import { resizeRgb } from './resize';
import { toRgb8 } from './to-rgb';

interface ResizeCase {
  source: string;
  filter: ResampleFilter;
  width: number;
  height: number;
  file: string;
}

const rgbOf = (file: string) => toRgb8(decodePng(fixtureBytes(`resize/${file}`), 0));

describe('resizeRgb', () => {
  const cases = fixtureJson<ResizeCase[]>('resize/resize.json');

  it('reproduces Pillow 12.3 Image.resize bytes for every filter, up and down', () => {
    const mismatches: string[] = [];
    for (const c of cases) {
      const got = resizeRgb(rgbOf(c.source), c.width, c.height, c.filter);
      const want = rgbOf(c.file);
      expect([got.width, got.height]).toEqual([want.width, want.height]);
      let differing = 0;
      for (let i = 0; i < want.data.length; i++) if (got.data[i] !== want.data[i]) differing++;
      if (differing > 0) mismatches.push(`${c.file}: ${differing} bytes differ`);
    }
    expect(mismatches).toEqual([]);
    expect(cases.length).toBe(72);
  });

  it('returns a copy, not the input, when the size does not change', () => {
    const src = rgbOf('noise-61x47.png');
    const out = resizeRgb(src, 61, 47, 'bicubic');
    expect(out.data).toEqual(src.data);
    expect(out.data).not.toBe(src.data);
  });
});
