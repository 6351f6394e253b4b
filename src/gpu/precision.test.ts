import { describe, expect, it } from 'vitest';
import { isSarashinaError } from '../protocol/errors';
import { choosePrecision } from './precision';

describe('choosePrecision', () => {
  it('picks q4f16 only with shader-f16', () => {
    expect(choosePrecision({ shaderF16: true }, ['q4f32', 'q4f16']).precision).toBe('q4f16');
    const c = choosePrecision({ shaderF16: false }, ['q4f32', 'q4f16']);
    expect(c.precision).toBe('q4f32');
    expect(c.reason).toMatch(/no shader-f16/);
  });
  it('prefers int4 over fp32, and falls back to fp32 when that is all there is', () => {
    expect(choosePrecision({ shaderF16: false }, ['fp32', 'q4f32']).precision).toBe('q4f32');
    expect(choosePrecision({ shaderF16: true }, ['fp32']).precision).toBe('fp32');
  });
  it('honours a runnable preference and explains an impossible one', () => {
    expect(choosePrecision({ shaderF16: false }, ['fp32', 'q4f32'], 'fp32').precision).toBe('fp32');
    let e: unknown;
    try {
      choosePrecision({ shaderF16: false }, ['q4f16', 'q4f32'], 'q4f16');
    } catch (err) {
      e = err;
    }
    expect(isSarashinaError(e, 'gpu-feature-missing')).toBe(true);
    expect(() => choosePrecision({ shaderF16: true }, ['q4f32'], 'fp32')).toThrow(/no fp32 variant/);
    expect(() => choosePrecision({ shaderF16: false }, ['q4f16'])).toThrow(/No variant/);
  });
});
