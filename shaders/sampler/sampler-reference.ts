/**
 * Plain-TS reference of the GPU sampler (sample-token.wgsl), with Hugging Face's semantics:
 * repetition penalty → temperature → top-k → top-p → softmax → multinomial. Used by the tests and as
 * the CPU fallback's definition of "correct".
 */
import type { SamplingOptions } from '../../src/protocol/sampling-options';

/** PCG hash (the shader's `pcg`). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> (((state >>> 28) + 4) >>> 0)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The uniform in [0, 1) the shader draws for (seed, step): 24 bits of PCG(PCG(seed) ^ step). */
export function samplerUniform(seed: number, step: number): number {
  return (pcgHash((pcgHash(seed) ^ step) >>> 0) >>> 8) / 16777216;
}

/** HF's RepetitionPenaltyLogitsProcessor on a copy of the logits. */
export function applyRepetitionPenalty(logits: ArrayLike<number>, previousIds: Iterable<number>, penalty: number): Float64Array {
  const out = Float64Array.from(logits);
  if (penalty === 1) return out;
  for (const id of new Set(previousIds)) {
    const x = out[id];
    if (x === undefined) continue;
    out[id] = x > 0 ? x / penalty : x * penalty;
  }
  return out;
}

/**
 * The probability of each token under the options (zero outside the kept set), in f64. Greedy
 * (temperature 0) gives a one-hot on the first argmax.
 */
export function samplingDistribution(logits: ArrayLike<number>, options: SamplingOptions, previousIds: Iterable<number> = []): Float64Array {
  const x = applyRepetitionPenalty(logits, previousIds, options.repetitionPenalty ?? 1);
  const probs = new Float64Array(x.length);
  if (options.temperature === 0) {
    let best = 0;
    for (let i = 1; i < x.length; i++) if ((x[i] ?? -Infinity) > (x[best] ?? -Infinity)) best = i;
    probs[best] = 1;
    return probs;
  }
  const s = x.map((v) => v / options.temperature);
  const order = Array.from(s.keys()).sort((a, b) => (s[b] ?? 0) - (s[a] ?? 0) || a - b);
  let kept = new Set(order);
  const topK = options.topK ?? 0;
  if (topK > 0 && topK < s.length) {
    const kth = s[order[topK - 1] ?? 0] ?? -Infinity;
    kept = new Set(order.filter((i) => (s[i] ?? -Infinity) >= kth));
  }
  const m = Math.max(...Array.from(kept, (i) => s[i] ?? -Infinity));
  const e = new Float64Array(s.length);
  let z = 0;
  for (const i of kept) {
    e[i] = Math.exp((s[i] ?? -Infinity) - m);
    z += e[i] ?? 0;
  }
  const topP = options.topP ?? 1;
  if (topP < 1) {
    // Keep i iff the mass of tokens strictly above s_i is < topP (ties share one decision).
    const next = new Set<number>();
    let above = 0;
    const sorted = order.filter((i) => kept.has(i));
    for (let a = 0; a < sorted.length; ) {
      let b = a;
      const v = s[sorted[a] ?? 0];
      while (b < sorted.length && s[sorted[b] ?? 0] === v) b++;
      if (above / z >= topP) break;
      for (let c = a; c < b; c++) {
        const i = sorted[c] ?? 0;
        next.add(i);
        above += e[i] ?? 0;
      }
      a = b;
    }
    kept = next;
  }
  let zk = 0;
  for (const i of kept) zk += e[i] ?? 0;
  for (const i of kept) probs[i] = (e[i] ?? 0) / zk;
  return probs;
}

/** The token the sampler picks for uniform u: the first index whose cumulative probability exceeds u. */
export function sampleReference(probs: ArrayLike<number>, u: number): number {
  let cum = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] ?? 0;
    if (p <= 0) continue;
    cum += p;
    last = i;
    if (cum > u) return i;
  }
  return last;
}
