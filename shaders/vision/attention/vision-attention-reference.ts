import type { VisionAttentionShape } from './vision-attention';

/**
 * Plain-TS reference of vision-attention.wgsl in f64, written the way HF's Qwen2-VL computes it
 * (rotate q and k, then per block a full non-causal softmax over the block's keys; no tiling, no online softmax).
 * `qkv` is [rows, 3 · heads · headDim], `cos`/`sin` are [rows, headDim / 2]; returns [rows, heads · headDim].
 */
export function visionAttentionReference(qkv: Float32Array, cos: Float32Array, sin: Float32Array, shape: VisionAttentionShape): Float64Array {
  const { heads, headDim, cuSeqlens } = shape;
  const rows = cuSeqlens[cuSeqlens.length - 1] ?? 0;
  const half = headDim / 2;
  const width = heads * headDim;
  const rotate = (part: number): Float64Array => {
    const x = new Float64Array(rows * width);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < heads; h++) {
        const src = r * 3 * width + part * width + h * headDim;
        const dst = r * width + h * headDim;
        for (let i = 0; i < half; i++) {
          const c = cos[r * half + i] ?? 0;
          const s = sin[r * half + i] ?? 0;
          const a = qkv[src + i] ?? 0;
          const b = qkv[src + i + half] ?? 0;
          x[dst + i] = a * c - b * s;
          x[dst + i + half] = b * c + a * s;
        }
      }
    }
    return x;
  };
  const q = rotate(0);
  const k = rotate(1);
  const out = new Float64Array(rows * width);
  const scale = 1 / Math.sqrt(headDim);
  const scores = new Float64Array(rows);
  for (let b = 0; b + 1 < cuSeqlens.length; b++) {
    const start = cuSeqlens[b] ?? 0;
    const end = cuSeqlens[b + 1] ?? 0;
    for (let h = 0; h < heads; h++) {
      for (let i = start; i < end; i++) {
        let max = -Infinity;
        for (let j = start; j < end; j++) {
          let s = 0;
          for (let d = 0; d < headDim; d++) s += (q[i * width + h * headDim + d] ?? 0) * (k[j * width + h * headDim + d] ?? 0);
          scores[j] = s * scale;
          max = Math.max(max, s * scale);
        }
        let sum = 0;
        for (let j = start; j < end; j++) {
          const p = Math.exp((scores[j] ?? 0) - max);
          scores[j] = p;
          sum += p;
        }
        const o = i * width + h * headDim;
        for (let j = start; j < end; j++) {
          const p = (scores[j] ?? 0) / sum;
          const v = j * 3 * width + 2 * width + h * headDim;
          for (let d = 0; d < headDim; d++) out[o + d] = (out[o + d] ?? 0) + p * (qkv[v + d] ?? 0);
        }
      }
    }
  }
  return out;
}
