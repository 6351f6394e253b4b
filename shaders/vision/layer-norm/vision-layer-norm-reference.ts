import type { VisionLayerNormShape } from './vision-layer-norm';

/** Plain-TS reference of vision-layer-norm.wgsl in f64: LayerNorm over the last axis (biased variance, as torch). */
export function visionLayerNormReference(x: Float32Array, gamma: Float32Array, beta: Float32Array, shape: VisionLayerNormShape): Float64Array {
  const { rows, dim, eps } = shape;
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i] ?? 0;
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += ((x[r * dim + i] ?? 0) - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = ((x[r * dim + i] ?? 0) - mean) * inv * (gamma[i] ?? 0) + (beta[i] ?? 0);
  }
  return y;
}
