import type { ResampleFilter } from '../../protocol/model-spec';

/** A separable reconstruction filter: weight at distance x (in input pixels at scale 1) and its half-width. */
export interface FilterKernel {
  readonly weight: (x: number) => number;
  readonly support: number;
}

// The formulas, constants and operation order follow Pillow's libImaging/Resample.c, so that the
// double-precision weights, and with them the rounded fixed-point coefficients, come out identical.

function box(x: number): number {
  return x > -0.5 && x <= 0.5 ? 1 : 0;
}

function bilinear(x: number): number {
  const ax = x < 0 ? -x : x;
  return ax < 1 ? 1 - ax : 0;
}

// Pillow writes these two as float literals (0.54f, 0.46f), so their float32 values are what it uses.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

function hamming(x: number): number {
  let ax = x < 0 ? -x : x;
  if (ax === 0) return 1;
  if (ax >= 1) return 0;
  ax = ax * Math.PI;
  return (Math.sin(ax) / ax) * (HAMMING_A + HAMMING_B * Math.cos(ax));
}

/** Keys' cubic with a = −0.5. */
function bicubic(x: number): number {
  const a = -0.5;
  const ax = x < 0 ? -x : x;
  if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczos(x: number): number {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/** The antialiasing filters of Pillow's `Image.resize` (NEAREST is not a filter there; see resize.ts). */
export const FILTER_KERNELS: Readonly<Record<Exclude<ResampleFilter, 'nearest'>, FilterKernel>> = {
  box: { weight: box, support: 0.5 },
  bilinear: { weight: bilinear, support: 1 },
  hamming: { weight: hamming, support: 1 },
  bicubic: { weight: bicubic, support: 2 },
  lanczos: { weight: lanczos, support: 3 },
};
