import { describe, expect, it } from 'vitest';
import { addNoise, gaussianBlur, jpegRoundTrip, quantTable } from './picture-effects';

const W = 48;
const H = 40;

function picture(pixel: (x: number, y: number) => readonly [number, number, number]): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.set(pixel(x, y), (y * W + x) * 3);
  return rgb;
}

const meanAbsError = (a: Uint8Array, b: Uint8Array): number => a.reduce((sum, v, i) => sum + Math.abs(v - (b[i] ?? 0)), 0) / a.length;
const maxAbsError = (a: Uint8Array, b: Uint8Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? 0))), 0);

describe('picture effects', () => {
  it('JPEG tables follow the IJG quality scaling of the T.81 Annex K tables (50 = the table itself)', () => {
    const k1Row0 = [16, 11, 10, 16, 24, 40, 51, 61];
    expect(quantTable(k1Row0, 50)).toEqual(k1Row0);
    expect(quantTable(k1Row0, 75)).toEqual([8, 6, 5, 8, 12, 20, 26, 31]);
    expect(quantTable(k1Row0, 100)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(quantTable(k1Row0, 10)).toEqual([80, 55, 50, 80, 120, 200, 255, 255]);
  });

  it('JPEG keeps flat colours and smooth gradients, and loses more at lower quality on sharp edges', () => {
    const flat = picture(() => [200, 40, 90]);
    expect(maxAbsError(jpegRoundTrip(flat, W, H, 50), flat)).toBeLessThanOrEqual(3);
    const gradient = picture((x, y) => [4 * x, 5 * y, 128]);
    expect(maxAbsError(jpegRoundTrip(gradient, W, H, 100), gradient)).toBeLessThanOrEqual(4);
    const edges = picture((x, y) => ((x >> 2) + (y >> 3)) % 2 === 0 ? [230, 30, 30] : [20, 60, 220]);
    const low = meanAbsError(jpegRoundTrip(edges, W, H, 20), edges);
    const high = meanAbsError(jpegRoundTrip(edges, W, H, 90), edges);
    expect(high).toBeGreaterThan(0);
    expect(low).toBeGreaterThan(2 * high);
  });

  it('blur keeps a flat picture and grades a step edge', () => {
    const flat = picture(() => [90, 90, 90]);
    expect(gaussianBlur(flat, W, H, 1)).toEqual(flat);
    const step = picture((x) => (x < W / 2 ? [0, 0, 0] : [240, 240, 240]));
    const blurred = gaussianBlur(step, W, H, 1);
    const row = Array.from({ length: W }, (_, x) => blurred[(10 * W + x) * 3] ?? 0);
    expect(row[W / 2 - 4]).toBe(0);
    expect(row[W / 2 + 3]).toBe(240);
    expect(row[W / 2 - 1]).toBeGreaterThan(0);
    expect(row[W / 2]).toBeLessThan(240);
    for (let x = 1; x < W; x++) expect(row[x]).toBeGreaterThanOrEqual(row[x - 1] ?? 0);
  });

  it('noise has mean ≈ 0 and the asked standard deviation, deterministic from its seed', () => {
    const grey = picture(() => [128, 128, 128]);
    const noisy = addNoise(grey, 6, 7);
    const d = Array.from(noisy, (v) => v - 128);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
    expect(Math.abs(mean)).toBeLessThan(0.3);
    expect(std).toBeGreaterThan(5.6);
    expect(std).toBeLessThan(6.4);
    expect(addNoise(grey, 6, 7)).toEqual(noisy);
  });
});
