import { describe, expect, it } from 'vitest';
import { SarashinaError, isSarashinaError } from './errors';

describe('SarashinaError', () => {
  it('keeps code, message and details through a JSON round trip', () => {
    const e = new SarashinaError('context-overflow', 'prompt is 5000 tokens, 904 over the 4096 budget', { overBy: 904 });
    const wire = JSON.parse(JSON.stringify(e.toJSON())) as unknown;
    expect(SarashinaError.isSerialized(wire)).toBe(true);
    const back = SarashinaError.fromJSON(wire as ReturnType<SarashinaError['toJSON']>);
    expect(back).toBeInstanceOf(SarashinaError);
    expect(back.code).toBe('context-overflow');
    expect(back.details.overBy).toBe(904);
    expect(back.message).toBe(e.message);
    expect(isSarashinaError(back, 'context-overflow')).toBe(true);
    expect(isSarashinaError(back, 'aborted')).toBe(false);
  });

  it('rejects objects that only look like errors', () => {
    expect(SarashinaError.isSerialized({ name: 'SarashinaError', code: 'nope', message: 'x' })).toBe(false);
    expect(SarashinaError.isSerialized(new Error('x'))).toBe(false);
  });
});
