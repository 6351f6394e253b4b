/**
 * cos/sin tables for Llama's 1-D rotary embedding, computed the way Hugging Face does in f32:
 *   inv_freq[i] = 1 / theta^(f32(2i) / headDim)        (each operation rounded to f32)
 *   angle[p, i] = f32(p · inv_freq[i])                  (HF: a K = 1 f32 matmul, one rounding)
 *   cos[p, i] = f32(cos(angle)), sin likewise            (HF: torch's f32 cos/sin)
 * Our angle is bit-identical to HF's; cos/sin here are correctly rounded from the f32 angle, torch's are
 * within ~1 ulp of that, so the tables differ from HF's by at most ~1 ulp (≤ 6e-8 absolute).
 * Computing cos in WGSL instead would lose far more: its accuracy is only specified on [-π, π] and
 * angles reach thousands of radians at long positions.
 */

export interface LlamaRopeTableOptions {
  /** rope_theta (Sarashina2: 10000). */
  readonly theta: number;
  /** Per-head dimension (Sarashina2: 128), even. */
  readonly headDim: number;
  /** Positions covered (the KV cache's capacity). */
  readonly maxLen: number;
}

export interface LlamaRopeTable {
  /** f32 [maxLen, headDim / 2]. */
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/** HF's f32 inverse frequencies (length headDim / 2). */
export function llamaInverseFrequencies(theta: number, headDim: number): Float32Array {
  const f = Math.fround;
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = f(1 / f(Math.pow(theta, f(f(2 * i) / headDim))));
  return out;
}

export function llamaRopeTable(options: LlamaRopeTableOptions): LlamaRopeTable {
  const { theta, headDim, maxLen } = options;
  if (!(headDim > 0) || headDim % 2 !== 0) throw new RangeError(`llamaRopeTable: headDim must be a positive even number, got ${headDim}`);
  const half = headDim / 2;
  const invFreq = llamaInverseFrequencies(theta, headDim);
  const cos = new Float32Array(maxLen * half);
  const sin = new Float32Array(maxLen * half);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * (invFreq[i] ?? 0));
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
