import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2eSession, REPO_ROOT, startE2e } from './harness';

describe('demo page', () => {
  let session: E2eSession;
  beforeAll(async () => {
    session = await startE2e();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('shows the adapter capabilities and a passing interop check', async () => {
    const { page, errors } = await session.open('/demo/index.html');
    await page.waitForFunction(() => /OK|FAILED/.test(document.querySelector('#interop')?.textContent ?? ''), undefined, { timeout: 120_000 });
    expect(await page.textContent('#interop')).toMatch(/^OK/);
    expect(await page.textContent('#caps')).toContain('subgroups');
    mkdirSync(`${REPO_ROOT}/e2e/output`, { recursive: true });
    await page.screenshot({ path: `${REPO_ROOT}/e2e/output/demo-capabilities.png`, fullPage: true });
    expect(errors).toEqual([]);
  });
});
