/**
 * The resize of the Sarashina2.2-Vision image processor: torch's
 * `F.interpolate(x, size, mode="bicubic", align_corners=False, antialias=False)` on a float32 image, as
 * PyTorch's CPU kernel computes it (aten UpSample.h / UpSampleKernel.cpp) in float32:
 *
 *   scale = in / out;  src = scale · (dst + 0.5) − 0.5;  i = floor(src) (at most in − 1);  t = clamp(src − i, 0, 1)
 *   weights (A = −0.75): w0 = k2(t + 1), w1 = k1(t), w2 = k1(1 − t), w3 = k2(2 − t)
 *     k1(x) = ((A + 2)·x − (A + 3))·x·x + 1,  k2(x) = ((A·x − 5A)·x + 8A)·x − 4A
 *   taps i − 1 … i + 2, each clamped to [0, in − 1] (edge pixels repeat); no antialias when shrinking.
 *   out(y, x) = Σ_j wy_j · (Σ_k wx_k · in(y_j, x_k)), summed in tap order.
 *
 * The multiply-adds are fused (one rounding each), as the compiled kernel does: against torch 2.11 on CPU this
 * brings the largest difference from 9e-6 (every step rounded) to 4e-7 (sarashina22-resize.test.ts); the rest is
 * accumulation rounding we could not pin down without torch's build.
 */

const A = -0.75;

interface Taps {
  /** Four clamped source indices per output index. */
  readonly index: Int32Array;
  /** Four weights per output index. */
  readonly weight: Float32Array;
}

const f = Math.fround;
/**
 * float32 fused multiply-add of float32 values: a·b is exact in float64 (48 bits), so one rounding of a·b + c
 * to float32 is the fused result (double rounding through float64 aside, which needs > 53 bits of the sum).
 */
const fma = (a: number, b: number, c: number): number => f(a * b + c);
const k1 = (x: number): number => fma(f(fma(A + 2, x, -(A + 3)) * x), x, 1);
const k2 = (x: number): number => fma(fma(fma(A, x, -5 * A), x, 8 * A), x, -4 * A);

/** Source taps and weights of one axis, `input` → `output` samples. */
export function bicubicTaps(input: number, output: number): Taps {
  const index = new Int32Array(output * 4);
  const weight = new Float32Array(output * 4);
  const scale = f(input / output);
  for (let o = 0; o < output; o++) {
    const src = fma(scale, f(o + 0.5), -0.5);
    const i = Math.min(Math.floor(src), input - 1);
    const t = Math.min(Math.max(f(src - i), 0), 1);
    const w = [k2(f(t + 1)), k1(t), k1(f(1 - t)), k2(f(f(1 - t) + 1))];
    for (let j = 0; j < 4; j++) {
      index[o * 4 + j] = Math.min(Math.max(i - 1 + j, 0), input - 1);
      weight[o * 4 + j] = w[j] ?? 0;
    }
  }
  return { index, weight };
}

/**
 * Resizes `src` (height × width × channels, interleaved float32) to outHeight × outWidth with torch's bicubic
 * (see the file comment). Returns a new interleaved array. Done in two passes — each source row resampled
 * horizontally once, then the rows combined — which rounds exactly as the per-pixel nested sum does (every
 * row term is the same float32 expression), at a quarter of the multiplications.
 */
export function resizeFloatBicubic(src: Float32Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Float32Array {
  const xs = bicubicTaps(width, outWidth);
  const ys = bicubicTaps(height, outHeight);
  const rowStride = width * channels;
  const outRow = outWidth * channels;
  const rows = new Float32Array(height * outRow);
  for (let y = 0; y < height; y++) {
    const base = y * rowStride;
    let o = y * outRow;
    for (let x = 0; x < outWidth; x++) {
      const i0 = base + (xs.index[x * 4] ?? 0) * channels;
      const i1 = base + (xs.index[x * 4 + 1] ?? 0) * channels;
      const i2 = base + (xs.index[x * 4 + 2] ?? 0) * channels;
      const i3 = base + (xs.index[x * 4 + 3] ?? 0) * channels;
      const w0 = xs.weight[x * 4] ?? 0;
      const w1 = xs.weight[x * 4 + 1] ?? 0;
      const w2 = xs.weight[x * 4 + 2] ?? 0;
      const w3 = xs.weight[x * 4 + 3] ?? 0;
      for (let c = 0; c < channels; c++) {
        let v = f((src[i0 + c] ?? 0) * w0);
        v = fma(src[i1 + c] ?? 0, w1, v);
        v = fma(src[i2 + c] ?? 0, w2, v);
        rows[o++] = fma(src[i3 + c] ?? 0, w3, v);
      }
    }
  }
  const out = new Float32Array(outHeight * outRow);
  for (let y = 0; y < outHeight; y++) {
    const r0 = (ys.index[y * 4] ?? 0) * outRow;
    const r1 = (ys.index[y * 4 + 1] ?? 0) * outRow;
    const r2 = (ys.index[y * 4 + 2] ?? 0) * outRow;
    const r3 = (ys.index[y * 4 + 3] ?? 0) * outRow;
    const w0 = ys.weight[y * 4] ?? 0;
    const w1 = ys.weight[y * 4 + 1] ?? 0;
    const w2 = ys.weight[y * 4 + 2] ?? 0;
    const w3 = ys.weight[y * 4 + 3] ?? 0;
    const o = y * outRow;
    for (let i = 0; i < outRow; i++) {
      let v = f((rows[r0 + i] ?? 0) * w0);
      v = fma(rows[r1 + i] ?? 0, w1, v);
      v = fma(rows[r2 + i] ?? 0, w2, v);
      out[o + i] = fma(rows[r3 + i] ?? 0, w3, v);
    }
  }
  return out;
}
