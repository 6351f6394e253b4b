import { describe, expect, it } from 'vitest';
import { SarashinaError } from './errors';
import { validateSamplingOptions } from './sampling-options';

describe('sampling options (checked once per request; the GPU sampler does not re-check them per token)', () => {
  const failure = (options: Parameters<typeof validateSamplingOptions>[0]): SarashinaError => {
    try {
      validateSamplingOptions(options);
    } catch (e) {
      expect(e).toBeInstanceOf(SarashinaError);
      return e as SarashinaError;
    }
    throw new Error(`accepted ${JSON.stringify(options)}`);
  };

  it('rejects invalid options as invalid-request, naming the field, the range and the value', () => {
    const topP = failure({ temperature: 1, topP: 0 });
    expect(topP.code).toBe('invalid-request');
    expect(topP.message).toMatch(/topP must be in \(0, 1\].*got 0\./);
    expect(topP.details).toMatchObject({ field: 'topP', value: '0' });
    expect(failure({ temperature: -1 }).details).toMatchObject({ field: 'temperature' });
    expect(failure({ temperature: Number.NaN }).details).toMatchObject({ field: 'temperature' });
    expect(failure({ temperature: 1, topK: 1.5 }).details).toMatchObject({ field: 'topK' });
    expect(failure({ temperature: 1, topP: 1.01 }).details).toMatchObject({ field: 'topP' });
    expect(failure({ temperature: 1, repetitionPenalty: 0 }).details).toMatchObject({ field: 'repetitionPenalty' });
    expect(failure({ temperature: 1, seed: 2 ** 32 }).details).toMatchObject({ field: 'seed' });
  });

  it('accepts greedy, the edges of each range and absent fields', () => {
    expect(() => validateSamplingOptions({ temperature: 0 })).not.toThrow();
    expect(() => validateSamplingOptions({ temperature: 0.7, topK: 0, topP: 1, repetitionPenalty: 1.1, seed: 2 ** 32 - 1 })).not.toThrow();
  });
});
