import { describe, expect, it } from 'vitest';
import { dispatchSize, variantKey } from './kernel';

describe('kernel variants', () => {
  it('keys a pipeline by name, entry point and sorted constants', () => {
    const k = { name: 'gemv', code: '' };
    expect(variantKey(k, { B: 2, A: 1 })).toBe('gemv{A=1,B=2}');
    expect(variantKey({ ...k, entryPoint: 'main' }, {})).toBe('gemv');
    expect(variantKey({ ...k, entryPoint: 'reduce' }, { A: 1 })).toBe('gemv:reduce{A=1}');
  });
  it('splits large dispatches over x and y within the limit', () => {
    expect(dispatchSize(10, 65535)).toEqual([10, 1]);
    const [x, y] = dispatchSize(200_000, 65535);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200_000);
  });
});
