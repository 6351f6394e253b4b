/**
 * Plain-TS reference of decode-attention.wgsl (f64 arithmetic on f32 inputs): Llama RoPE of this token's q and k
 * (HF rotate_half with the llamaRopeTable() tables), the append of k and v to row p of the BNSH caches, then
 * softmax(q·Kᵀ · scale) · V over positions 0..p per head. An f16 cache (f32 arrays holding f16 values) is
 * attended as the kernel does: row p in f32 from this token, then stored rounded to f16 for later steps.
 */
import { roundToFloat16 } from '../../../src/gpu/float16-bits';
import { type DecodeAttentionShape, qkvOffsets } from './decode-attention';

export interface RopeTableArrays {
  /** f32 [≥ maxLen, headDim / 2]. */
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/** rotate_half RoPE of the headDim values at src[offset ..] at `position`, into a new array. */
export function ropeReference(src: Float32Array, offset: number, headDim: number, table: RopeTableArrays, position: number): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(headDim);
  for (let i = 0; i < half; i++) {
    const c = table.cos[position * half + i] ?? 0;
    const s = table.sin[position * half + i] ?? 0;
    const a = src[offset + i] ?? 0;
    const b = src[offset + i + half] ?? 0;
    out[i] = a * c - b * s;
    out[i + half] = b * c + a * s;
  }
  return out;
}

/**
 * The attention output [heads · headDim] for the token at `position` whose q, k, v (before RoPE) are in `qkv`.
 * Writes row p of `kCache` (rotated k) and `vCache` in place, as the kernel does; at p ≥ maxLen nothing is rotated
 * or written and the maxLen cached positions are attended.
 */
export function decodeAttentionReference(
  qkv: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  table: RopeTableArrays,
  shape: DecodeAttentionShape,
  position: number,
): Float64Array {
  appendReference(qkv, kCache, vCache, table, { ...shape, kvDtype: 'float32' }, position);
  const out = attendReference(qkv, kCache, vCache, table, shape, position);
  if (shape.kvDtype === 'float16') appendReference(qkv, kCache, vCache, table, shape, position);
  return out;
}

/** Row p of the caches (p < maxLen): rope(k) and v of the token, f16-rounded for an f16 cache. */
function appendReference(qkv: Float32Array, kCache: Float32Array, vCache: Float32Array, table: RopeTableArrays, shape: DecodeAttentionShape, position: number): void {
  const { kvHeads, headDim, maxLen } = shape;
  const { kOffset, vOffset } = qkvOffsets(shape);
  if (position >= maxLen) return;
  const stored = (v: ArrayLike<number>): ArrayLike<number> => (shape.kvDtype === 'float16' ? roundToFloat16(v) : v);
  for (let g = 0; g < kvHeads; g++) {
    const row = (g * maxLen + position) * headDim;
    kCache.set(stored(ropeReference(qkv, kOffset + g * headDim, headDim, table, position)), row);
    vCache.set(stored(qkv.subarray(vOffset + g * headDim, vOffset + (g + 1) * headDim)), row);
  }
}

/** The attention output of the token at `position` over the caches as they are (row p already appended). */
function attendReference(qkv: Float32Array, kCache: Float32Array, vCache: Float32Array, table: RopeTableArrays, shape: DecodeAttentionShape, position: number): Float64Array {
  const { heads, kvHeads, headDim, maxLen } = shape;
  const { qOffset } = qkvOffsets(shape);
  const scale = shape.scale ?? 1 / Math.sqrt(headDim);
  const inCache = position < maxLen;
  const last = Math.min(position, maxLen - 1);
  const out = new Float64Array(heads * headDim);
  for (let h = 0; h < heads; h++) {
    const q = inCache ? ropeReference(qkv, qOffset + h * headDim, headDim, table, position) : Float64Array.from(qkv.subarray(qOffset + h * headDim, qOffset + (h + 1) * headDim));
    const kvh = Math.floor(h / (heads / kvHeads));
    const s: number[] = [];
    for (let j = 0; j <= last; j++) {
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += (q[d] ?? 0) * (kCache[(kvh * maxLen + j) * headDim + d] ?? 0);
      s.push(dot * scale);
    }
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    for (let d = 0; d < headDim; d++) {
      let o = 0;
      for (let j = 0; j <= last; j++) o += (e[j] ?? 0) * (vCache[(kvh * maxLen + j) * headDim + d] ?? 0);
      out[h * headDim + d] = o / z;
    }
  }
  return out;
}
