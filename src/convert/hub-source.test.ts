/**
 * The Hub source against a local server in the Hub's layout (src/testing/hub-server.ts): the trained default
 * checkpoint (export/train/checkpoint) re-sharded into 3 real shards with an index. Expected bytes are the files on
 * disk; the Hub's behaviour the server imitates is huggingface_hub's (file_download.py, hf_api.model_info, _http.py).
 */

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SarashinaError, isSarashinaError } from '../protocol/errors';
import { startHubServer, type HubServer } from '../testing/hub-server';
import { reshardCheckpoint } from '../testing/reshard-checkpoint';
import { parseHubModel } from './hub-model-ref';
import { openHubCheckpoint, type HubCheckpointOptions } from './hub-source';

const TRAINED = join(import.meta.dirname, '../../export/train/checkpoint');
const REPO = 'sbintuitions/shapes-tiny';
const TOKEN = 'hf_TestTokenThatMustNotLeak123';
const fakeSha = (label: string): string => createHash('sha1').update(label).digest('hex');
const SHA_A = fakeSha('commit a');
const SHA_B = fakeSha('commit b');

let dir: string;
let dirA: string;
let dirB: string;
let shardsA: string[];
let server: HubServer;

/** Fast retries, so the fault tests take milliseconds. */
const FAST: HubCheckpointOptions['retry'] = { attempts: 3, baseDelayMs: 5 };

async function rejection(promise: Promise<unknown>): Promise<SarashinaError> {
  try {
    await promise;
  } catch (e) {
    if (isSarashinaError(e)) return e;
    throw e;
  }
  throw new Error('expected a SarashinaError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-source-'));
  dirA = join(dir, 'a');
  dirB = join(dir, 'b');
  shardsA = await reshardCheckpoint(TRAINED, dirA, 3);
  await reshardCheckpoint(TRAINED, dirB, 2);
  await writeFile(join(dirB, 'config.json'), `${(await readFile(join(dirB, 'config.json'), 'utf8')).trimEnd()}\n\n`);
  server = await startHubServer({
    repos: {
      [REPO]: { commits: { [SHA_A]: dirA, [SHA_B]: dirB }, refs: { main: SHA_A, 'v1.0': SHA_A } },
      'acme/private-shapes': { commits: { [SHA_A]: dirA }, refs: { main: SHA_A }, access: { token: TOKEN, kind: 'private' } },
      'acme/gated-shapes': { commits: { [SHA_A]: dirA }, refs: { main: SHA_A }, access: { token: TOKEN, kind: 'gated' } },
    },
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  server.clearFaults();
  server.honourRanges = true;
  server.setRef(REPO, 'main', SHA_A);
  server.resetCounts();
});

describe('parseHubModel', () => {
  it.each([
    ['sbintuitions/sarashina2-vision-8b', 'sbintuitions/sarashina2-vision-8b', undefined],
    ['sbintuitions/sarashina2-vision-8b@v1.0', 'sbintuitions/sarashina2-vision-8b', 'v1.0'],
    ['org/name@refs/pr/1', 'org/name', 'refs/pr/1'],
    ['https://huggingface.co/sbintuitions/sarashina2-vision-8b', 'sbintuitions/sarashina2-vision-8b', undefined],
    ['https://huggingface.co/sbintuitions/sarashina2-vision-8b/', 'sbintuitions/sarashina2-vision-8b', undefined],
    ['https://hf.co/org/name', 'org/name', undefined],
    ['https://huggingface.co/org/name/tree/dev', 'org/name', 'dev'],
    ['https://huggingface.co/org/name/tree/refs%2Fpr%2F3', 'org/name', 'refs/pr/3'],
    [`https://huggingface.co/org/name/resolve/${SHA_A}/config.json`, 'org/name', SHA_A],
    ['https://huggingface.co/org/name/blob/main/model-00001-of-00004.safetensors', 'org/name', 'main'],
  ])('%s → %s @ %s', (model, repoId, revision) => {
    expect(parseHubModel(model)).toEqual(revision === undefined ? { repoId } : { repoId, revision });
  });

  it('reads URLs on a custom endpoint, including one under a path', () => {
    expect(parseHubModel('http://127.0.0.1:9/org/name/tree/main', 'http://127.0.0.1:9')).toEqual({ repoId: 'org/name', revision: 'main' });
    expect(parseHubModel('https://mirror.example/hf/org/name', 'https://mirror.example/hf/')).toEqual({ repoId: 'org/name' });
  });

  it('refuses a URL with credentials and does not repeat them', () => {
    const error = (() => {
      try {
        parseHubModel('https://me:hf_secret123@huggingface.co/org/name');
      } catch (e) {
        return e as SarashinaError;
      }
      throw new Error('expected an error');
    })();
    expect(error.code).toBe('invalid-request');
    expect(JSON.stringify([error.message, error.details])).not.toContain('hf_secret123');
  });

  it.each([
    'gpt2',
    'a/b/c',
    'org/na--me',
    'org/name@',
    'https://example.com/org/name',
    'https://huggingface.co/datasets/org/name',
    'https://huggingface.co/org/name/discussions/1',
    'https://huggingface.co/org',
    '',
  ])('refuses %j with invalid-request', (model) => {
    expect(() => parseHubModel(model)).toThrow(expect.objectContaining({ code: 'invalid-request' }));
  });
});

describe('openHubCheckpoint', () => {
  it('pins the branch to its commit and reads every file byte for byte, shards by ranges through the CDN redirect', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url });
    expect(source.revision).toBe(SHA_A);
    expect(source.description).toBe(`${server.url}/${REPO}@${SHA_A}`);
    for (const name of ['config.json', 'model.safetensors.index.json', 'tokenizer.json', 'chat_template.json']) {
      expect(await source.readFile(name)).toEqual(new Uint8Array(await readFile(join(dirA, name))));
    }
    expect(await source.readFile('preprocessor.json')).toBeNull();
    expect(await source.readFile('model.safetensors')).toBeNull();
    for (const shard of shardsA) {
      const expected = new Uint8Array(await readFile(join(dirA, shard)));
      const file = await source.openFile(shard);
      expect(file.sizeBytes).toBe(expected.byteLength);
      const third = Math.floor(expected.byteLength / 3);
      const parts = [await file.read(0, third), await file.read(third, third), await file.read(2 * third, expected.byteLength - 2 * third)];
      expect(Buffer.concat(parts).equals(expected)).toBe(true);
    }
    const cdn = server.requests.filter((r) => r.origin === 'cdn');
    expect(cdn.length).toBe(3 * shardsA.length);
    expect(cdn.every((r) => r.range !== undefined)).toBe(true);
    const resolves = server.requests.filter((r) => r.origin === 'hub' && r.path.includes('/resolve/'));
    expect(resolves.every((r) => r.path.includes(`/resolve/${SHA_A}/`))).toBe(true);
    // One resolve per shard: later reads go straight to the CDN address the redirect gave.
    for (const shard of shardsA) expect(resolves.filter((r) => r.path.endsWith(shard)).length).toBe(1);
  });

  it('goes back to the Hub when the CDN address expires', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: FAST });
    const shard = shardsA[0] ?? '';
    const expected = await readFile(join(dirA, shard));
    const file = await source.openFile(shard);
    expect(Buffer.from(await file.read(0, 1000)).equals(expected.subarray(0, 1000))).toBe(true);
    server.expireCdnUrls();
    expect(Buffer.from(await file.read(5000, 1000)).equals(expected.subarray(5000, 6000))).toBe(true);
    expect(Buffer.from(await file.read(9000, 1000)).equals(expected.subarray(9000, 10_000))).toBe(true);
    const forShard = server.requests.filter((r) => r.path.endsWith(shard) && r.path.includes('/resolve/'));
    expect(forShard.length).toBe(2);
    expect(server.requests.filter((r) => r.origin === 'cdn').length).toBe(4);
  });

  it('keeps reading the pinned commit after the branch moves', async () => {
    const source = await openHubCheckpoint(`${server.url}/${REPO}/tree/main`, { endpoint: server.url });
    server.setRef(REPO, 'main', SHA_B);
    expect(await source.readFile('config.json')).toEqual(new Uint8Array(await readFile(join(dirA, 'config.json'))));
    const shard = shardsA[2] ?? '';
    const expected = await readFile(join(dirA, shard));
    const file = await source.openFile(shard);
    expect(Buffer.from(await file.read(100, 5000)).equals(expected.subarray(100, 5100))).toBe(true);
    // A new open sees the moved branch.
    expect((await openHubCheckpoint(REPO, { endpoint: server.url })).revision).toBe(SHA_B);
  });

  it('opens a tag and a commit sha as revisions; two different revisions is invalid-request', async () => {
    expect((await openHubCheckpoint(`${REPO}@v1.0`, { endpoint: server.url })).revision).toBe(SHA_A);
    expect((await openHubCheckpoint(REPO, { endpoint: server.url, revision: SHA_B })).revision).toBe(SHA_B);
    expect((await rejection(openHubCheckpoint(`${REPO}@v1.0`, { endpoint: server.url, revision: 'main' }))).code).toBe('invalid-request');
  });

  it('reads the right slice when the server answers a range with 200 and the whole file', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url });
    const shard = shardsA[1] ?? '';
    const expected = await readFile(join(dirA, shard));
    server.honourRanges = false;
    const file = await source.openFile(shard);
    expect(Buffer.from(await file.read(123_457, 40_000)).equals(expected.subarray(123_457, 163_457))).toBe(true);
  });

  it('retries a connection cut mid-body and returns the exact bytes', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: FAST });
    const shard = shardsA[0] ?? '';
    const expected = await readFile(join(dirA, shard));
    server.cutConnection(shard, 70_000);
    const file = await source.openFile(shard);
    expect(Buffer.from(await file.read(1000, 300_000)).equals(expected.subarray(1000, 301_000))).toBe(true);
    // The cut response sent 70,000 bytes, the retry the whole range.
    expect(server.bytesServed(shard)).toBe(70_000 + 300_000);
  });

  it('serves concurrent reads of one file exactly, with two of them cut', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: FAST });
    const shard = shardsA[1] ?? '';
    const expected = await readFile(join(dirA, shard));
    const file = await source.openFile(shard);
    server.cutConnection(shard, 5000, { times: 2 });
    const slices = Array.from({ length: 6 }, (_, i) => ({ offset: 1 + i * 150_001, length: 100_000 + i * 7 }));
    const reads = await Promise.all(slices.map(({ offset, length }) => file.read(offset, length)));
    for (const [i, { offset, length }] of slices.entries()) expect(Buffer.from(reads[i] ?? []).equals(expected.subarray(offset, offset + length))).toBe(true);
  });

  it('drops a response that stalls and retries it', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: { ...FAST, stallTimeoutMs: 300 } });
    const shard = shardsA[2] ?? '';
    const expected = await readFile(join(dirA, shard));
    server.stallConnection(shard, 20_000);
    const file = await source.openFile(shard);
    expect(Buffer.from(await file.read(0, 100_000)).equals(expected.subarray(0, 100_000))).toBe(true);
    expect(server.bytesServed(shard)).toBe(20_000 + 100_000);
    server.stallConnection(shard, 0, { times: Infinity });
    const error = await rejection(file.read(0, 100_000));
    expect(error.code).toBe('download-failed');
    expect(error.message).toMatch(/no data for 0\.3 s/);
  });

  it('retries a 503 and a cut small file', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: FAST });
    server.failWith('tokenizer.json', 503);
    expect(await source.readFile('tokenizer.json')).toEqual(new Uint8Array(await readFile(join(dirA, 'tokenizer.json'))));
    server.cutConnection('tokenizer.json', 1000);
    expect(await source.readFile('tokenizer.json')).toEqual(new Uint8Array(await readFile(join(dirA, 'tokenizer.json'))));
  });

  it('waits for the Retry-After of a 429 before the next try', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: FAST });
    server.failWith('tokenizer_config.json', 429, { retryAfterSeconds: 1 });
    const started = performance.now();
    expect(await source.readFile('tokenizer_config.json')).toEqual(new Uint8Array(await readFile(join(dirA, 'tokenizer_config.json'))));
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it('fails with download-failed when the connection is cut every time', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: FAST });
    const shard = shardsA[0] ?? '';
    server.cutConnection(shard, 10_000, { times: Infinity });
    const file = await source.openFile(shard);
    const error = await rejection(file.read(0, 200_000));
    expect(error.code).toBe('download-failed');
    expect(error.message).toContain(shard);
    expect(error.message).toMatch(/3 tries/);
  });

  it('detects a truncated shard as integrity-mismatch, on the first and on the last bytes', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: FAST });
    const shard = shardsA[1] ?? '';
    const size = (await readFile(join(dirA, shard))).byteLength;
    server.truncate(shard, size - 4096);
    const file = await source.openFile(shard);
    expect(file.sizeBytes).toBe(size);
    expect((await rejection(file.read(0, 8))).code).toBe('integrity-mismatch');
    expect((await rejection(file.read(size - 100, 100))).code).toBe('integrity-mismatch');
    server.honourRanges = false;
    expect((await rejection(file.read(0, 8))).code).toBe('integrity-mismatch');
  });

  it('refuses a private repository without a token, reads it with one, and never leaks or forwards the token', async () => {
    const anonymous = await rejection(openHubCheckpoint('acme/private-shapes', { endpoint: server.url }));
    expect(anonymous.code).toBe('download-failed');
    expect(anonymous.details.reason).toBe('unauthorized');
    expect(anonymous.message).toMatch(/private or gated.*token/);
    const wrong = await rejection(openHubCheckpoint('acme/private-shapes', { endpoint: server.url, token: 'hf_wrong' }));
    expect(wrong.code).toBe('invalid-request');
    expect(JSON.stringify([wrong.message, wrong.details])).not.toContain('hf_wrong');

    server.resetCounts();
    const source = await openHubCheckpoint('acme/private-shapes', { endpoint: server.url, token: TOKEN, retry: FAST });
    expect(source.description).not.toContain(TOKEN);
    const shard = shardsA[0] ?? '';
    const file = await source.openFile(shard);
    expect(Buffer.from(await file.read(0, 4096)).equals((await readFile(join(dirA, shard))).subarray(0, 4096))).toBe(true);
    const hub = server.requests.filter((r) => r.origin === 'hub');
    const cdn = server.requests.filter((r) => r.origin === 'cdn');
    expect(hub.length).toBeGreaterThan(0);
    expect(hub.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    // fetch drops Authorization when the Hub's 302 leaves its origin (Fetch standard, undici here).
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((r) => r.authorization === undefined)).toBe(true);
    const afterCut = await rejection((server.cutConnection(shard, 10, { times: Infinity }), file.read(0, 100_000)));
    expect(JSON.stringify([afterCut.message, afterCut.details, afterCut.stack])).not.toContain(TOKEN);
  });

  it('says a gated repository needs its license accepted (the Hub lists its files to anyone, refuses the downloads)', async () => {
    const anonymous = await openHubCheckpoint('acme/gated-shapes', { endpoint: server.url, retry: FAST });
    expect(anonymous.revision).toBe(SHA_A);
    const error = await rejection(anonymous.readFile('config.json'));
    expect([error.code, error.details.reason, error.details.status]).toEqual(['download-failed', 'unauthorized', 401]);
    expect(error.message).toMatch(/token.*license/);
    expect((await rejection(anonymous.openFile(shardsA[0] ?? '').then((f) => f.read(0, 8)))).details.reason).toBe('unauthorized');
    const notAccepted = await openHubCheckpoint('acme/gated-shapes', { endpoint: server.url, token: 'hf_not_accepted' });
    const refused = await rejection(notAccepted.readFile('config.json'));
    expect(refused.details.status).toBe(403);
    expect(refused.message).toMatch(/token was refused/);
    expect(refused.message).not.toContain('hf_not_accepted');
    const accepted = await openHubCheckpoint('acme/gated-shapes', { endpoint: server.url, token: TOKEN });
    expect(await accepted.readFile('config.json')).toEqual(new Uint8Array(await readFile(join(dirA, 'config.json'))));
  });

  it('names a missing repository and a missing revision', async () => {
    const repo = await rejection(openHubCheckpoint('acme/no-such-model', { endpoint: server.url, token: TOKEN }));
    expect([repo.code, repo.details.reason]).toEqual(['invalid-request', 'repo-not-found']);
    expect(repo.message).toContain('acme/no-such-model');
    const revision = await rejection(openHubCheckpoint(`${REPO}@no-such-branch`, { endpoint: server.url }));
    expect([revision.code, revision.details.reason]).toEqual(['invalid-request', 'revision-not-found']);
    expect(revision.message).toContain(REPO);
    expect(revision.message).toContain('"no-such-branch"');
  });

  it('is invalid-model for a file the commit does not have', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url });
    const error = await rejection(source.openFile('model-00009-of-00009.safetensors'));
    expect(error.code).toBe('invalid-model');
    expect(error.message).toContain('model-00009-of-00009.safetensors');
  });

  it('says the endpoint cannot be reached', async () => {
    const error = await rejection(openHubCheckpoint(REPO, { endpoint: 'http://127.0.0.1:1', retry: { attempts: 2, baseDelayMs: 1 } }));
    expect(error.code).toBe('download-failed');
    expect(error.message).toMatch(/could not reach http:\/\/127\.0\.0\.1:1/);
  });

  it('stops with aborted when the signal fires, also while waiting to retry', async () => {
    const source = await openHubCheckpoint(REPO, { endpoint: server.url, retry: { attempts: 5, baseDelayMs: 60_000 } });
    const shard = shardsA[0] ?? '';
    const file = await source.openFile(shard);
    expect((await rejection(file.read(0, 10, AbortSignal.abort()))).code).toBe('aborted');
    server.failWith(shard, 503, { times: Infinity });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(file.read(0, 10, controller.signal))).code).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(10_000);
    const opening = new AbortController();
    opening.abort();
    expect((await rejection(openHubCheckpoint(REPO, { endpoint: server.url, signal: opening.signal }))).code).toBe('aborted');
  });
});
