import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2eSession, REPO_ROOT, startE2e } from './harness';

describe('model download into OPFS (Chromium)', () => {
  let session: E2eSession;
  beforeAll(async () => {
    session = await startE2e();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('downloads and verifies into OPFS, loads again with no network, rejects a wrong digest', async () => {
    const paths = ['package.json', 'shaders/vision/storage-f16.wgsl'];
    const files = paths.map((path) => {
      const data = readFileSync(join(REPO_ROOT, path));
      return { path, sizeBytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') };
    });
    const { page, errors } = await session.open('/e2e/pages/loader.html');
    await page.waitForFunction(() => typeof window.loaderRun === 'function');
    const out = (await page.evaluate(([base, f]) => window.loaderRun(base, f), [`${session.baseUrl}/`, files] as const)) as {
      verified: string[];
      last: { loadedBytes: number; totalBytes: number; filesDone: number };
      fetchesOnSecondLoad: number;
      listed: { modelId: string; sizeBytes: number; files: number }[];
      bad: string;
      badCached: string | null;
      afterDelete: unknown[];
    };
    expect(out.verified).toEqual(files.map((f) => f.sha256));
    const total = files.reduce((n, f) => n + f.sizeBytes, 0);
    expect(out.last).toMatchObject({ loadedBytes: total, totalBytes: total, filesDone: 2 });
    expect(out.fetchesOnSecondLoad).toBe(0);
    expect(out.listed.find((m) => m.modelId === 'e2e')).toMatchObject({ sizeBytes: total, files: 2 });
    expect(out.bad).toBe('integrity-mismatch');
    expect(out.badCached).toBeNull();
    expect(out.afterDelete).toEqual([]);
    // The deliberate wrong-digest download logs nothing to the console; anything else is a failure.
    expect(errors).toEqual([]);
  });
});
