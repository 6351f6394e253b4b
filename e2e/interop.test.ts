import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2eSession, startE2e } from './harness';

interface InteropPageResult {
  capabilities: { vendor: string; subgroupMinSize: number };
  result: { ok: boolean; maxAbsError: number; outputLocation: string; values: number[] };
}

describe('interop in Chromium (WebGPU on SwiftShader)', () => {
  let session: E2eSession;
  beforeAll(async () => {
    session = await startE2e();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('our kernel → onnxruntime-web (native WebGPU EP, our device) → our kernel', async () => {
    const { page, errors } = await session.open('/e2e/pages/interop.html');
    await page.waitForFunction(() => typeof window.runInterop === 'function');
    const out = (await page.evaluate(() => window.runInterop())) as InteropPageResult;
    expect(out.result.outputLocation).toBe('gpu-buffer');
    expect(out.result.maxAbsError).toBeLessThan(1e-4);
    expect(out.result.ok).toBe(true);
    expect(Math.max(...out.result.values.map(Math.abs))).toBeGreaterThan(0.1);
    expect(out.capabilities.subgroupMinSize).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});
