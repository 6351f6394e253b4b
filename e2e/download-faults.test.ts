// The loader in Chromium against a package server that misbehaves: a corrupt shard is refused with
// integrity-mismatch and never cached, the next load after the fix recovers; a connection cut mid-shard
// resumes with a Range request; the cache API lists and deletes the package.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../export/package/export-package';
import type { FaultLoadResult } from './pages/faults';
import { type E2eSession, startE2e } from './harness';

type Mode = 'ok' | 'corrupt' | 'cut-once';

describe('package download faults in Chromium (worker engine, OPFS)', () => {
  let session: E2eSession;
  let server: Server;
  let packageUrl: string;
  let mode: Mode = 'ok';
  const ranges: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'faults-'));

  beforeAll(async () => {
    await exportPackage('export/reference/fixtures/tiny/checkpoint', join(dir, 'pkg'), { precision: 'q4f32' });
    server = createServer((req, res) => {
      const cors = {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'range',
        'access-control-expose-headers': 'content-range, content-length',
        'cache-control': 'no-store',
      };
      if (req.method === 'OPTIONS') {
        res.writeHead(204, cors).end();
        return;
      }
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/pkg\//, '');
      let data: Buffer;
      try {
        if (path.includes('..')) throw new Error('no');
        data = readFileSync(join(dir, 'pkg', path));
      } catch {
        res.writeHead(404, cors).end();
        return;
      }
      const isShard = path.startsWith('weights-');
      if (isShard && mode === 'corrupt') {
        data = Buffer.from(data);
        data[1234] = (data[1234] ?? 0) ^ 0xff;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range && isShard) ranges.push(`${path}:${range[1]}`);
      const start = range ? Number(range[1]) : 0;
      const body = data.subarray(start);
      res.writeHead(range ? 206 : 200, {
        ...cors,
        'content-length': body.byteLength,
        ...(range ? { 'content-range': `bytes ${start}-${data.byteLength - 1}/${data.byteLength}` } : {}),
      });
      if (isShard && mode === 'cut-once' && !range) {
        mode = 'ok';
        // Half the shard, a pause so the browser hands those bytes to the reader, then the connection drops.
        res.write(body.subarray(0, body.byteLength >> 1), () => setTimeout(() => res.destroy(), 500));
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    packageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pkg/`;
    session = await startE2e();
  });
  afterAll(async () => {
    await session?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('corrupt shard → integrity-mismatch and nothing cached; fixed server → recovers; cache API lists and deletes', async () => {
    const { page, errors } = await session.open('/e2e/pages/faults.html');
    await page.waitForFunction(() => typeof window.faultLoad === 'function');
    await page.evaluate((u) => window.faultDelete(u), packageUrl);

    mode = 'corrupt';
    const bad: FaultLoadResult = await page.evaluate((u) => window.faultLoad(u), packageUrl);
    expect(bad.code).toBe('integrity-mismatch');
    const afterBad = await page.evaluate(() => window.faultCache());
    const packageBytes = Number(JSON.parse(readFileSync(join(dir, 'pkg', 'manifest.json'), 'utf8')).shards[0].sizeBytes);
    // The corrupt shard was deleted, not kept as if cached.
    expect(afterBad.every((m) => m.sizeBytes < packageBytes)).toBe(true);

    mode = 'ok';
    const good: FaultLoadResult = await page.evaluate((u) => window.faultLoad(u), packageUrl);
    expect(good.code).toBeNull();
    expect(typeof good.answer).toBe('string');
    expect(good.progressEvents).toBeGreaterThan(0);

    const cached = await page.evaluate(() => window.faultCache());
    expect(cached).toHaveLength(1);
    expect(cached[0]?.sizeBytes).toBeGreaterThan(packageBytes);
    expect(await page.evaluate((u) => window.faultDelete(u), packageUrl)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a connection cut in the middle of a shard resumes with a Range request', async () => {
    const { page, errors } = await session.open('/e2e/pages/faults.html');
    await page.waitForFunction(() => typeof window.faultLoad === 'function');
    await page.evaluate((u) => window.faultDelete(u), packageUrl);
    ranges.length = 0;
    mode = 'cut-once';
    const result: FaultLoadResult = await page.evaluate((u) => window.faultLoad(u), packageUrl);
    expect(result.code).toBeNull();
    expect(ranges.length).toBe(1);
    expect(Number(ranges[0]?.split(':')[1])).toBeGreaterThan(0);
    await page.evaluate((u) => window.faultDelete(u), packageUrl);
    // The cut connection is logged by Chromium as a failed load; nothing else may be.
    expect(errors.filter((e) => !/ERR_|net::|Failed to fetch|network/i.test(e))).toEqual([]);
  });
});
