/**
 * Sampling options of one request, validated once where the request enters the engine (the generator); the
 * per-token path (the GPU sampler) takes them as validated and does not check them again.
 */
import { SarashinaError } from './errors';

export interface SamplingOptions {
  /** 0 = greedy (argmax); otherwise logits are divided by it. */
  readonly temperature: number;
  /** Keep the k most likely tokens (ties included); 0 or undefined = off. */
  readonly topK?: number;
  /** Keep the smallest top set whose mass reaches topP (HF's rule); 1 or undefined = off. In (0, 1]. */
  readonly topP?: number;
  /** HF's repetition penalty over the previous ids; 1 or undefined = off. */
  readonly repetitionPenalty?: number;
  /** Seed of the per-step PRNG (u32); the same seed and step give the same draw. */
  readonly seed?: number;
}

/** Throws `invalid-request` naming the field, the expected range and the value. */
export function validateSamplingOptions(options: SamplingOptions): void {
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new SarashinaError('invalid-request', `Sampling option ${field} must be ${expected}; got ${String(value)}.`, {
      field,
      expected,
      value: String(value),
    });
  };
  const { temperature, topK, topP, repetitionPenalty, seed } = options;
  if (!Number.isFinite(temperature) || temperature < 0) fail('temperature', 'a finite number ≥ 0 (0 = greedy)', temperature);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 0)) fail('topK', 'an integer ≥ 0 (0 = off)', topK);
  if (topP !== undefined && (!Number.isFinite(topP) || topP <= 0 || topP > 1)) fail('topP', 'in (0, 1] (1 = off)', topP);
  if (repetitionPenalty !== undefined && (!Number.isFinite(repetitionPenalty) || repetitionPenalty <= 0)) {
    fail('repetitionPenalty', 'a finite number > 0 (1 = off)', repetitionPenalty);
  }
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) fail('seed', 'an integer in [0, 2^32)', seed);
}
