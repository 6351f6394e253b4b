import type { VisionLinearEpilogue, VisionLinearShape } from './vision-linear';

/**
 * Plain-TS reference of vision-linear.wgsl in f64: y = epilogue(x · Wᵀ + b), x [rows, inDim], W [outDim, inDim]
 * (Hugging Face layout); `residual` is y's previous contents, added by the 'residual' epilogue.
 */
export function visionLinearReference(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  residual: Float32Array,
  shape: VisionLinearShape,
  epilogue: VisionLinearEpilogue,
): Float64Array {
  const { rows, inDim, outDim } = shape;
  const y = new Float64Array(rows * outDim);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < outDim; n++) {
      let v = bias ? (bias[n] ?? 0) : 0;
      for (let k = 0; k < inDim; k++) v += (x[m * inDim + k] ?? 0) * (w[n * inDim + k] ?? 0);
      if (epilogue === 'quick-gelu') v = v / (1 + Math.exp(-1.702 * v));
      if (epilogue === 'gelu') v = 0.5 * v * (1 + erf(v / Math.SQRT2));
      if (epilogue === 'residual') v += residual[m * outDim + n] ?? 0;
      y[m * outDim + n] = v;
    }
  }
  return y;
}

/** erf by its Taylor series below 4 (f64 cancellation ≤ ~1e-10 there), by the leading asymptotic term above. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a >= 4) return Math.sign(x) * (1 - Math.exp(-a * a) / (a * Math.sqrt(Math.PI)));
  let sum = 0;
  let term = a;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-a * a) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
}
