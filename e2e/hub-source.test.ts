// The Hub source in Chromium, from the Vite page's origin to a Hub-layout server on another origin whose *.safetensors
// answers 302 to a CDN on a third: the token reaches only the Hub (the browser drops Authorization on the
// cross-origin redirect), bytes match the files on disk, and the client still works when the server hides every
// non-safelisted header (X-Error-Code, Content-Range, ETag); a server without CORS is a download-failed that says so.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubServer, type HubServerRepo, startHubServer } from '../src/testing/hub-server';
import { reshardCheckpoint } from '../src/testing/reshard-checkpoint';
import type { HubReadRequest, HubReadResult } from './pages/hub-source';
import { type E2eSession, startE2e } from './harness';

const TOKEN = 'hf_BrowserTestToken456';
const SHA = createHash('sha1').update('browser commit').digest('hex');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('the Hub source in Chromium, across origins', () => {
  let session: E2eSession;
  let dir: string;
  let shards: string[];
  let exposed: HubServer;
  let hidden: HubServer;
  let noCors: HubServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-e2e-'));
    shards = await reshardCheckpoint(join(import.meta.dirname, '../export/train/checkpoint'), join(dir, 'a'), 2);
    const repo: HubServerRepo = { commits: { [SHA]: join(dir, 'a') }, refs: { main: SHA } };
    const repos = { 'sbintuitions/shapes-tiny': repo, 'acme/private-shapes': { ...repo, access: { token: TOKEN, kind: 'private' as const } } };
    exposed = await startHubServer({ repos });
    hidden = await startHubServer({ repos, exposeHeaders: false });
    noCors = await startHubServer({ repos, cors: false });
    session = await startE2e();
  });
  afterAll(async () => {
    await session?.close();
    await Promise.all([exposed, hidden, noCors].map((s) => s?.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function read(request: HubReadRequest): Promise<{ result: HubReadResult; errors: string[] }> {
    const { page, errors } = await session.open('/e2e/pages/hub-source.html');
    await page.waitForFunction(() => typeof window.hubRead === 'function');
    const result: HubReadResult = await page.evaluate((r) => window.hubRead(r), request);
    await page.close();
    return { result, errors };
  }

  async function expectedDigests(request: HubReadRequest): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const file of request.files) out[file] = sha256(await readFile(join(dir, 'a', file)));
    for (const { file, offset, length } of request.ranges) out[`${file}@${offset}+${length}`] = sha256((await readFile(join(dir, 'a', file))).subarray(offset, offset + length));
    return out;
  }

  it('reads a private repository with a token; the CDN never sees it', async () => {
    const shard = shards[1] ?? '';
    const request: HubReadRequest = {
      model: 'acme/private-shapes',
      endpoint: exposed.url,
      token: TOKEN,
      files: ['config.json', 'model.safetensors.index.json'],
      ranges: [{ file: shard, offset: 0, length: 4096 }, { file: shard, offset: 100_000, length: 250_000 }],
    };
    const { result, errors } = await read(request);
    expect(result.code).toBeNull();
    expect(result.revision).toBe(SHA);
    expect(result.digests).toEqual(await expectedDigests(request));
    const gets = exposed.requests.filter((r) => r.method === 'GET');
    expect(gets.filter((r) => r.origin === 'hub').every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(gets.filter((r) => r.origin === 'cdn').length).toBe(2);
    // The second range went straight to the CDN address the first redirect led to.
    expect(gets.filter((r) => r.origin === 'hub' && r.path.endsWith(shard)).length).toBe(1);
    expect(exposed.requests.filter((r) => r.origin === 'cdn').every((r) => r.authorization === undefined)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('works when the server hides its headers: sizes from the API, a missing revision still named, a truncated shard refused', async () => {
    const shard = shards[0] ?? '';
    const size = (await readFile(join(dir, 'a', shard))).byteLength;
    const request: HubReadRequest = { model: 'sbintuitions/shapes-tiny', endpoint: hidden.url, files: ['tokenizer.json'], ranges: [{ file: shard, offset: size - 5000, length: 5000 }] };
    const ok = await read(request);
    expect(ok.result.code).toBeNull();
    expect(ok.result.digests).toEqual(await expectedDigests(request));
    expect(ok.errors).toEqual([]);

    const missing = await read({ ...request, model: 'sbintuitions/shapes-tiny@no-such-branch' });
    expect([missing.result.code, missing.result.reason]).toEqual(['invalid-request', 'revision-not-found']);

    hidden.truncate(shard, size - 1000);
    const truncated = await read(request);
    hidden.clearFaults();
    expect(truncated.result.code).toBe('integrity-mismatch');
  });

  it('says a server without CORS cannot be read from this page', async () => {
    const { result } = await read({ model: 'sbintuitions/shapes-tiny', endpoint: noCors.url, files: ['config.json'], ranges: [] });
    expect(result.code).toBe('download-failed');
    expect(result.message).toMatch(/CORS/);
  });
});
