/**
 * Deterministic random weights for the random checkpoint, streamed as bf16 chunks. Each tensor has
 * its own generator seeded from (seed, tensor name), so a tensor's values do not depend on the
 * order or the sharding. Initialisation keeps activations sane through the layers: linears are
 * normal(0, 1/√fan_in) (≈ 0.016–0.02 at the real sizes, like a real init), biases normal(0, 0.02),
 * norm weights 1 + normal(0, 0.02), norm biases normal(0, 0.02), embeddings normal(0, 1), and the
 * lm_head normal(0, 4/√hidden): logits of std ≈ 4, peaked like a trained model's, because with std 1
 * the greedy top-2 gaps of a 2048-token vocabulary were often below 1e-3 — too close for parity tests.
 */

import type { ModelSpec } from '../../src/protocol/model-spec';
import { allBiases, allNorms, WEIGHTS } from '../../src/protocol/weight-names';
import { float32ToBf16Bytes } from '../../src/convert/safetensors/safetensors-dtype';
import type { TensorToWrite } from '../safetensors/safetensors-writer';

/** How one tensor is initialised: value = mean + std · N(0, 1). */
export interface TensorInit {
  readonly mean: number;
  readonly std: number;
}

/** Init rule for tensor `name` of a Sarashina2-Vision model of `spec`, from its role and shape. */
export function initFor(spec: ModelSpec, name: string, shape: readonly number[]): TensorInit {
  if (allNorms(spec).some((n) => n.weight === name)) return { mean: 1, std: 0.02 };
  // Norm biases and linear biases start alike.
  if (allBiases(spec).includes(name)) return { mean: 0, std: 0.02 };
  if (name === WEIGHTS.embedTokens) return { mean: 0, std: 1 };
  if (name === WEIGHTS.lmHead) return { mean: 0, std: 4 / Math.sqrt(shape[1] ?? 1) };
  let fanIn = 1;
  for (const d of shape.slice(1)) fanIn *= d;
  return { mean: 0, std: 1 / Math.sqrt(fanIn) };
}

const TABLE_BITS = 16;
let normalTable: Float32Array | null = null;

/**
 * 65536 standard-normal quantiles Φ⁻¹((i + ½)/65536) (Acklam's rational approximation, relative
 * error < 1.2e-9). A 16-bit draw indexes it: far finer than bf16's 8-bit mantissa, and several
 * times faster than Box–Muller, which matters for the 8-billion-value presets.
 */
function normals(): Float32Array {
  if (normalTable) return normalTable;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const size = 1 << TABLE_BITS;
  const table = new Float32Array(size);
  const tail = (p: number): number => {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  };
  for (let i = 0; i < size; i++) {
    const p = (i + 0.5) / size;
    let x: number;
    if (p < 0.02425) x = tail(p);
    else if (p > 1 - 0.02425) x = -tail(1 - p);
    else {
      const q = p - 0.5;
      const r = q * q;
      x = ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
    }
    table[i] = x;
  }
  normalTable = table;
  return table;
}

/** FNV-1a of the name mixed with the seed: a per-tensor 32-bit seed. */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Elements per produced chunk (8 MiB of bf16): bounds memory regardless of tensor size. */
const CHUNK_ELEMENTS = 1 << 22;

/**
 * A bf16 tensor of `count` values mean + std·N(0,1) from a sfc32 generator seeded by (seed, name).
 * Yields fresh chunks of at most 8 MiB.
 */
export function* randomBf16Chunks(name: string, count: number, init: TensorInit, seed: number): Generator<Uint8Array> {
  const table = normals();
  // sfc32 state from splitmix32 of the tensor seed.
  let s = tensorSeed(seed, name);
  const next32 = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  let a = next32();
  let b = next32();
  let c = next32();
  let ctr = 1;
  const values = new Float32Array(Math.min(count, CHUNK_ELEMENTS) + 1);
  const { mean, std } = init;
  for (let start = 0; start < count; start += CHUNK_ELEMENTS) {
    const n = Math.min(CHUNK_ELEMENTS, count - start);
    for (let i = 0; i < n; i += 2) {
      // sfc32 step
      const t = (((a + b) | 0) + ctr) | 0;
      ctr = (ctr + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      values[i] = mean + std * (table[t & 0xffff] ?? 0);
      values[i + 1] = mean + std * (table[t >>> 16] ?? 0);
    }
    const out = new Uint8Array(n * 2);
    float32ToBf16Bytes(values.subarray(0, n), out);
    yield out;
  }
}

/** A TensorToWrite of `spec`'s model whose data is `randomBf16Chunks` with the init rule for its name. */
export function randomBf16Tensor(spec: ModelSpec, name: string, shape: readonly number[], seed: number): TensorToWrite {
  let count = 1;
  for (const d of shape) count *= d;
  const init = initFor(spec, name, shape);
  return { name, dtype: 'BF16', shape, chunks: () => randomBf16Chunks(name, count, init, seed) };
}
