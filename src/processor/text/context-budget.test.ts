import { describe, expect, it } from 'vitest';
import { isSarashinaError } from '../../protocol/errors';
import { checkContextBudget } from './context-budget';

describe('checkContextBudget', () => {
  it('accepts a request that fits exactly', () => {
    expect(() => checkContextBudget({ promptTokens: 4000, maxNewTokens: 96, contextTokens: 4096 })).not.toThrow();
  });

  it('says how many tokens are over and what to do', () => {
    let error: unknown;
    try {
      checkContextBudget({ promptTokens: 4000, maxNewTokens: 128, contextTokens: 4096, imageTokens: 999 });
    } catch (e) {
      error = e;
    }
    expect(isSarashinaError(error, 'context-overflow')).toBe(true);
    if (!isSarashinaError(error)) return;
    expect(error.details).toMatchObject({ overBy: 32, promptTokens: 4000, maxNewTokens: 128, contextTokens: 4096 });
    expect(error.message).toContain('32 over');
    expect(error.message).toContain('at most 96');
    expect(error.message).toContain('fewer or smaller images');
  });

  it('says when lowering max_tokens cannot help', () => {
    expect(() => checkContextBudget({ promptTokens: 5000, maxNewTokens: 1, contextTokens: 4096 })).toThrow(
      /lowering max_tokens alone is not enough/,
    );
  });

  it('rejects a non-positive max_tokens', () => {
    for (const maxNewTokens of [0, -1, 2.5]) {
      expect(() => checkContextBudget({ promptTokens: 1, maxNewTokens, contextTokens: 10 })).toThrow(
        expect.objectContaining({ code: 'invalid-request' }),
      );
    }
  });
});
