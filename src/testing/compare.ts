/** Numeric comparison used by kernel and parity tests: normalized MSE and max-abs error. */
export interface ErrorStats {
  readonly nmse: number;
  readonly maxAbs: number;
  readonly maxRel: number;
}

export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>): ErrorStats {
  if (actual.length !== expected.length) throw new RangeError(`length ${actual.length} != ${expected.length}`);
  let se = 0;
  let ss = 0;
  let maxAbs = 0;
  let maxExpected = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    const d = Math.abs(a - e);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    se += (a - e) * (a - e);
    ss += e * e;
    maxExpected = Math.max(maxExpected, Math.abs(e));
  }
  return { nmse: ss > 0 ? se / ss : se, maxAbs, maxRel: maxExpected > 0 ? maxAbs / maxExpected : maxAbs };
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
export function randomFloats(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
