import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextParityResult } from './pages/processor-text';
import { type E2eSession, startE2e } from './harness';

describe('text processor parity in Chromium', () => {
  let session: E2eSession;
  beforeAll(async () => {
    session = await startE2e();
  });
  afterAll(async () => {
    await session?.close();
  });

  for (const folder of ['tokenizer-tiny', 'tokenizer-102400']) {
    it(`tokenizer, chat template and detokenizer match Hugging Face (${folder})`, async () => {
      const { page, errors } = await session.open('/e2e/pages/processor-text.html');
      await page.waitForFunction(() => typeof window.runTextCases === 'function');
      const result: TextParityResult = await page.evaluate((f) => window.runTextCases(f), folder);
      expect(result.checked).toBeGreaterThan(60);
      expect(result.mismatches).toEqual([]);
      expect(errors).toEqual([]);
    });
  }
});
