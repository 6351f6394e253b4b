import type { FilterKernel } from './resample-filters';

/** Fraction bits of the fixed-point coefficients (Pillow: 32 − 8 − 2 = 22, room for sign and overshoot). */
export const PRECISION_BITS = 22;

/**
 * Integer filter taps for resampling one axis from `inSize` to `outSize` pixels: output pixel i reads
 * input pixels `start[i] … start[i] + count[i] − 1` with weights `coeffs[i·taps + j]` (fixed point,
 * 2^PRECISION_BITS = 1.0). On a downscale the filter is stretched by inSize/outSize (antialiasing).
 */
export interface AxisCoefficients {
  readonly taps: number;
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly coeffs: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc, reproduced step for step in double precision. */
export function axisCoefficients(inSize: number, outSize: number, kernel: FilterKernel): AxisCoefficients {
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = kernel.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const coeffs = new Int32Array(outSize * taps);
  const weights = new Float64Array(taps);
  const invScale = 1 / filterScale;
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C's (int) cast truncates toward zero; the clamp makes that equal to flooring here.
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    const n = hi - lo;
    let total = 0;
    for (let j = 0; j < n; j++) {
      const w = kernel.weight((j + lo - center + 0.5) * invScale);
      weights[j] = w;
      total += w;
    }
    const base = i * taps;
    for (let j = 0; j < n; j++) {
      const w = total !== 0 ? (weights[j] ?? 0) / total : (weights[j] ?? 0);
      coeffs[base + j] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
    }
    start[i] = lo;
    count[i] = n;
  }
  return { taps, start, count, coeffs };
}
