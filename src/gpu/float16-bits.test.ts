import { describe, expect, it } from 'vitest';
import { randomFloats } from '../testing/compare';
import { float16Bits, float16Value, roundToFloat16 } from './float16-bits';

describe('float16Bits', () => {
  const value = (h: number): number => {
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    const v = e === 0 ? m * 2 ** -24 : e === 0x1f ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
    return h & 0x8000 ? -v : v;
  };
  it('rounds every value to the nearest binary16 (ties to even), including subnormals, overflow and NaN', () => {
    const xs = new Float32Array([...randomFloats(2000, 3).map((x) => x * 70000), ...randomFloats(500, 4).map((x) => x * 1e-4), 1, -2, 0.5 + 2 ** -12, 65520, 1e-9, NaN]);
    const bits = float16Bits(xs);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const got = value(bits[i]!);
      if (Number.isNaN(x)) {
        expect(Number.isNaN(got)).toBe(true);
        continue;
      }
      if (!Number.isFinite(got)) {
        expect(Math.abs(x)).toBeGreaterThanOrEqual(65520);
        continue;
      }
      // No other f16 is closer: check the neighbours of the chosen code.
      const h = bits[i]! & 0x7fff;
      const sign = bits[i]! & 0x8000;
      for (const n of [h - 1, h + 1]) if (n >= 0 && n < 0x7c00) expect(Math.abs(value(sign | n) - x)).toBeGreaterThanOrEqual(Math.abs(got - x));
      if (Math.abs(x) >= 65520) expect(Math.abs(got)).toBe(Infinity);
    }
    expect(bits[xs.length - 6]).toBe(0x3c00);
    expect(bits[xs.length - 4]).toBe(0x3800); // tie below: even mantissa stays
  });

  it('float16Value decodes IEEE binary16 (normal, subnormal, max, infinity); roundToFloat16 rounds to nearest even', () => {
    expect([0x3c00, 0xc000, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0x3555].map(float16Value)).toEqual([1, -2, 2 ** -24, 1023 * 2 ** -24, 65504, Infinity, 0.333251953125]);
    // 1 + 2^-11 is the tie between 1 and 1 + 2^-10 (even mantissa: 1); 1 + 3 · 2^-11 the tie between 1 + 2^-10 and 1 + 2^-9.
    expect(Array.from(roundToFloat16([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 / 3, 2 ** -26]))).toEqual([1, 1 + 2 ** -9, 0.333251953125, 0]);
  });
});
