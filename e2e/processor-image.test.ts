import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseResult } from './pages/processor-image';
import { type E2eSession, startE2e } from './harness';

describe('image processor parity in Chromium', () => {
  let session: E2eSession;
  beforeAll(async () => {
    session = await startE2e();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('every Hugging Face fixture case gives the same grids and bit-identical pixel values', async () => {
    const { page, errors } = await session.open('/e2e/pages/processor-image.html');
    await page.waitForFunction(() => typeof window.runProcessorCases === 'function');
    const results: CaseResult[] = await page.evaluate(() => window.runProcessorCases());
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => !r.exact || !r.gridsEqual)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
