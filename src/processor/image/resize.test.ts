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

  it('reads RGBA in place (alpha ignored) with the same bytes as packed RGB', () => {
    const rgb = rgbOf('photo-97x73.png');
    const rgba = new Uint8Array(rgb.width * rgb.height * 4);
    for (let i = 0; i < rgb.width * rgb.height; i++) {
      rgba.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = (i * 37) & 255;
    }
    const asRgba = { width: rgb.width, height: rgb.height, stride: 4 as const, data: rgba };
    for (const [w, h] of [[23, 17], [97, 20], [40, 73], [130, 101]] as const) {
      for (const filter of ['bicubic', 'bilinear', 'nearest'] as const) {
        const a = resizeRgb(rgb, w, h, filter);
        const b = resizeRgb(asRgba, w, h, filter);
        const pixels = (img: typeof a) => Array.from({ length: w * h * 3 }, (_, i) => img.data[Math.floor(i / 3) * img.stride + (i % 3)]);
        expect(pixels(b), `${filter} ${w}x${h}`).toEqual(pixels(a));
      }
    }
  });
});
