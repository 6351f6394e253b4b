import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../protocol/errors';
import { errorNotice } from './status-screens';
import { uiLang, uiStrings } from './ui-strings';

/** Every leaf path of a strings table, e.g. "capability.webgpu-unavailable.todo". */
function paths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => paths(v, prefix ? `${prefix}.${k}` : k));
}

describe('ui strings', () => {
  it('Japanese by default, English for en and en-*', () => {
    expect(uiLang(null)).toBe('ja');
    expect(uiLang('fr')).toBe('ja');
    expect(uiLang('EN-us')).toBe('en');
    expect(uiStrings('en').send).toBe('Send');
    expect(uiStrings(undefined).send).toBe('送信');
  });

  it('the Japanese and English tables have the same entries, none empty', () => {
    const ja = uiStrings('ja');
    const en = uiStrings('en');
    expect(paths(en).sort()).toEqual(paths(ja).sort());
    for (const table of [ja, en]) {
      // The context notes name their count (the language's own plural where it has one).
      expect(table.contextDropped(3)).toContain('3');
      expect(table.contextResized(2)).toContain('2');
      // A message put back in the input box: the note mentions a left-out image only when there was one.
      expect(table.messageReturned(1)).not.toBe(table.messageReturned(0));
      for (const [code, help] of Object.entries(table.capability)) {
        expect(help.what, code).not.toBe('');
        expect(help.todo.length, code).toBeGreaterThan(0);
      }
    }
  });

  it('device and browser codes lead to the capability screen, the rest to an error notice; all codes are known', () => {
    const strings = uiStrings('ja');
    const retry = (): void => undefined;
    for (const code of ['webgpu-unavailable', 'gpu-feature-missing', 'gpu-limits-too-low', 'out-of-memory', 'device-lost', 'storage-quota-exceeded'] as const) {
      const notice = errorNotice(strings, code, 'engine message', retry);
      expect(notice, code).toMatchObject({ kind: 'capability', title: strings.capabilityTitle, details: `${code}: engine message` });
      expect(notice.todo?.length, code).toBeGreaterThan(0);
    }
    expect(errorNotice(strings, 'download-failed', 'HTTP 404 for manifest.json', retry)).toMatchObject({ kind: 'error', text: 'HTTP 404 for manifest.json' });
    for (const code of [...Object.keys(strings.capability), ...Object.keys(strings.requestError)]) expect(ERROR_CODES).toContain(code);
  });
});
