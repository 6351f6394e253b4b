/** f32 ↔ IEEE binary16 conversion on the host: inputs of the float16 graphs of q4f16 packages, f16 rounding in references. */

/** IEEE binary16 bits of each value, rounded to nearest even (f16 graphs take float16 inputs). */
export function float16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i] ?? 0;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      // Subnormal (or zero): shift the full significand into 10 bits, round to nearest even.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const m = mant | 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rem = m & ((1 << shift) - 1);
      let h = m >>> shift;
      if (rem > half || (rem === half && (h & 1) === 1)) h++;
      out[i] = sign | h;
    } else {
      const rem = mant & 0x1fff;
      let h = (e << 10) | (mant >>> 13);
      if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
      out[i] = sign | h; // a carry into the exponent rounds up correctly, up to infinity
    }
  }
  return out;
}

/** The value of IEEE binary16 bits `h` (exact in f32). */
export function float16Value(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 0x1f ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/** Each value rounded to f32, then to the nearest binary16 (ties to even): what an f16 buffer stores of it. */
export function roundToFloat16(values: ArrayLike<number>): Float32Array {
  return Float32Array.from(float16Bits(Float32Array.from(values)), float16Value);
}
