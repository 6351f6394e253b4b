/**
 * Plain-TS math for the reference forward passes (tests only): f64 accumulation, f32 results.
 * Row-major everywhere; a linear weight is [out, in] like Hugging Face's nn.Linear.
 */

/** y [rows, out] = x [rows, in] · Wᵀ + b. */
export function linear(x: Float32Array, rows: number, inDim: number, weight: Float32Array, outDim: number, bias?: Float32Array): Float32Array {
  if (x.length !== rows * inDim) throw new RangeError(`linear: x has ${x.length} values, expected ${rows}×${inDim}`);
  if (weight.length !== outDim * inDim) throw new RangeError(`linear: weight has ${weight.length} values, expected ${outDim}×${inDim}`);
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let acc = bias ? (bias[o] ?? 0) : 0;
      const xo = r * inDim;
      const wo = o * inDim;
      for (let i = 0; i < inDim; i++) acc += (x[xo + i] ?? 0) * (weight[wo + i] ?? 0);
      y[r * outDim + o] = acc;
    }
  }
  return y;
}

/** LayerNorm over the last dimension (biased variance, like PyTorch). */
export function layerNorm(x: Float32Array, dim: number, weight: Float32Array, bias: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i] ?? 0;
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) variance += ((x[r * dim + i] ?? 0) - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = ((x[r * dim + i] ?? 0) - mean) * inv * (weight[i] ?? 0) + (bias[i] ?? 0);
  }
  return y;
}

/** RMSNorm over the last dimension (Llama). */
export function rmsNorm(x: Float32Array, dim: number, weight: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += (x[r * dim + i] ?? 0) ** 2;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = (x[r * dim + i] ?? 0) * inv * (weight[i] ?? 0);
  }
  return y;
}

export function add(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + (b[i] ?? 0));
}

export function map(a: Float32Array, f: (v: number) => number): Float32Array {
  return a.map(f);
}

export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
export const quickGelu = (v: number): number => v * sigmoid(1.702 * v);
export const silu = (v: number): number => v * sigmoid(v);
export const gelu = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));

/** erf to ~1e-12 for |x| < 3 (Taylor series) and ~1e-8 absolute beyond (asymptotic erfc). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  const x2 = ax * ax;
  const erfc = (Math.exp(-x2) / (ax * Math.sqrt(Math.PI))) * (1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2));
  return Math.sign(x) * (1 - erfc);
}

/**
 * Softmax attention for one head over rows [start, end): q, k, v are [rows, stride] with this head's
 * values at `offset … offset + headDim`. Writes into out (same layout). `causal` masks later keys.
 */
export function attendHead(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  layout: { readonly stride: number; readonly kvStride: number; readonly qOffset: number; readonly kOffset: number; readonly vOffset: number; readonly outStride: number; readonly outOffset: number; readonly headDim: number },
  rows: { readonly qStart: number; readonly qEnd: number; readonly kvStart: number; readonly kvEnd: number; readonly causalOffset?: number },
): void {
  const { headDim } = layout;
  const scale = 1 / Math.sqrt(headDim);
  const scores = new Float64Array(rows.kvEnd - rows.kvStart);
  for (let i = rows.qStart; i < rows.qEnd; i++) {
    const last = rows.causalOffset === undefined ? rows.kvEnd : Math.min(rows.kvEnd, rows.kvStart + rows.causalOffset + (i - rows.qStart) + 1);
    let max = -Infinity;
    for (let j = rows.kvStart; j < last; j++) {
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += (q[i * layout.stride + layout.qOffset + d] ?? 0) * (k[j * layout.kvStride + layout.kOffset + d] ?? 0);
      scores[j - rows.kvStart] = dot * scale;
      max = Math.max(max, dot * scale);
    }
    let sum = 0;
    for (let j = rows.kvStart; j < last; j++) {
      const e = Math.exp((scores[j - rows.kvStart] ?? 0) - max);
      scores[j - rows.kvStart] = e;
      sum += e;
    }
    for (let d = 0; d < headDim; d++) {
      let acc = 0;
      for (let j = rows.kvStart; j < last; j++) acc += (scores[j - rows.kvStart] ?? 0) * (v[j * layout.kvStride + layout.vOffset + d] ?? 0);
      out[i * layout.outStride + layout.outOffset + d] = acc / sum;
    }
  }
}

/** Rotate-half RoPE in place on `heads` heads of each row: pair (i, i + D/2) turns by cos/sin[row, i]. */
export function rotateHalf(x: Float32Array, rows: number, stride: number, offset: number, heads: number, headDim: number, cos: Float32Array, sin: Float32Array, tableRow: (r: number) => number): void {
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const t = tableRow(r) * half;
    for (let h = 0; h < heads; h++) {
      const base = r * stride + offset + h * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[base + i] ?? 0;
        const b = x[base + i + half] ?? 0;
        const c = cos[t + i] ?? 0;
        const s = sin[t + i] ?? 0;
        x[base + i] = a * c - b * s;
        x[base + i + half] = b * c + a * s;
      }
    }
  }
}
