import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isSarashinaError } from '../protocol/errors';
import { type DownloadProgress } from './download-progress';
import { downloadPackage, type PackageFileRef } from './download-package';
import { NodeFsStore } from './node-fs-store';
import { sha256Hex } from './sha256';

/** A local package server with Range support and switches to misbehave. */
interface Behaviour {
  /** Cut the connection after this many body bytes of the next response (once). */
  cutAfter?: number;
  /** Serve these bytes instead of the real file. */
  corrupt?: Record<string, Uint8Array>;
  /** Ignore Range headers and always send the whole file with 200. */
  ignoreRange?: boolean;
  rangeRequests: string[];
}

const files: Record<string, Uint8Array> = {
  'a.bin': new Uint8Array(300_000).map((_, i) => (i * 7) & 255),
  'shards/b.bin': new Uint8Array(123_457).map((_, i) => (i * 13 + 5) & 255),
  'manifest.json': new TextEncoder().encode('{"x":1}'),
};
const refs: PackageFileRef[] = Object.entries(files).map(([path, data]) => ({ path, sizeBytes: data.byteLength, sha256: sha256Hex(data) }));

describe('downloadPackage', () => {
  let server: Server;
  let baseUrl: string;
  let dir: string;
  const behaviour: Behaviour = { rangeRequests: [] };

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
      const data = behaviour.corrupt?.[path] ?? files[path];
      if (!data) {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      let body = data;
      if (range && !behaviour.ignoreRange) {
        behaviour.rangeRequests.push(`${path}:${range[1]}`);
        body = data.subarray(Number(range[1]));
        res.writeHead(206, { 'content-length': body.byteLength, 'content-range': `bytes ${range[1]}-${data.byteLength - 1}/${data.byteLength}` });
      } else {
        res.writeHead(200, { 'content-length': body.byteLength });
      }
      const cut = behaviour.cutAfter;
      if (cut !== undefined && body.byteLength > cut) {
        behaviour.cutAfter = undefined;
        res.write(body.subarray(0, cut), () => res.destroy());
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'store-'));
    behaviour.cutAfter = undefined;
    behaviour.corrupt = undefined;
    behaviour.ignoreRange = false;
    behaviour.rangeRequests = [];
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('downloads every file, verifies it, and reports aggregate progress to the total', async () => {
    const store = new NodeFsStore(dir);
    const events: DownloadProgress[] = [];
    await downloadPackage({ baseUrl, modelId: 'm', files: refs, store, onProgress: (p) => events.push(p) });
    for (const [path, data] of Object.entries(files)) {
      expect(readFileSync(join(dir, 'm', path))).toEqual(Buffer.from(data));
      expect(await store.verifiedSha256('m', path)).toBe(sha256Hex(data));
    }
    const last = events[events.length - 1];
    const total = refs.reduce((n, r) => n + r.sizeBytes, 0);
    expect(last).toMatchObject({ loadedBytes: total, totalBytes: total, filesDone: 3, filesTotal: 3 });
    expect(events.every((e) => e.loadedBytes <= total)).toBe(true);
    expect((await store.list())[0]).toMatchObject({ modelId: 'm', sizeBytes: total, files: 3 });
  });

  it('a second load finds everything cached and touches no network', async () => {
    const store = new NodeFsStore(dir);
    await downloadPackage({ baseUrl, modelId: 'm', files: refs, store });
    let fetches = 0;
    const counting: typeof fetch = (...args) => {
      fetches++;
      return fetch(...args);
    };
    await downloadPackage({ baseUrl, modelId: 'm', files: refs, store, fetch: counting });
    expect(fetches).toBe(0);
  });

  it('resumes an interrupted file with a Range request and still verifies it end to end', async () => {
    const store = new NodeFsStore(dir);
    behaviour.cutAfter = 100_000;
    await downloadPackage({ baseUrl, modelId: 'm', files: [refs[0] as PackageFileRef], store, concurrency: 1 });
    expect(behaviour.rangeRequests).toEqual(['a.bin:100000']);
    expect(readFileSync(join(dir, 'm', 'a.bin'))).toEqual(Buffer.from(files['a.bin'] as Uint8Array));
  });

  it('starts over when the server ignores Range', async () => {
    const store = new NodeFsStore(dir);
    behaviour.cutAfter = 50_000;
    behaviour.ignoreRange = true;
    await downloadPackage({ baseUrl, modelId: 'm', files: [refs[0] as PackageFileRef], store });
    expect(await store.verifiedSha256('m', 'a.bin')).toBe(refs[0]?.sha256);
  });

  it('a corrupt file on the server gives integrity-mismatch, is never cached, and recovers once fixed', async () => {
    const store = new NodeFsStore(dir);
    const bad = new Uint8Array(files['shards/b.bin'] as Uint8Array);
    bad[777] = (bad[777] ?? 0) ^ 1;
    behaviour.corrupt = { 'shards/b.bin': bad };
    const err = await downloadPackage({ baseUrl, modelId: 'm', files: refs, store }).catch((e: unknown) => e);
    expect(isSarashinaError(err, 'integrity-mismatch')).toBe(true);
    expect(await store.verifiedSha256('m', 'shards/b.bin')).toBeNull();
    expect(await store.size('m', 'shards/b.bin')).toBe(0);
    behaviour.corrupt = undefined;
    await downloadPackage({ baseUrl, modelId: 'm', files: refs, store });
    expect(await store.verifiedSha256('m', 'shards/b.bin')).toBe(refs[1]?.sha256);
  });

  it('a missing file gives download-failed naming the URL and status', async () => {
    const store = new NodeFsStore(dir);
    const err = await downloadPackage({ baseUrl, modelId: 'm', files: [{ path: 'nope.bin', sizeBytes: 3, sha256: 'x' }], store }).catch((e: unknown) => e);
    expect(isSarashinaError(err, 'download-failed')).toBe(true);
    expect(String((err as Error).message)).toMatch(/nope\.bin.*HTTP 404/);
  });

  it('an aborted download stops with aborted and keeps the partial file for a resume', async () => {
    const store = new NodeFsStore(dir);
    const controller = new AbortController();
    const err = await downloadPackage({
      baseUrl,
      modelId: 'm',
      files: [refs[0] as PackageFileRef],
      store,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.loadedBytes > 0) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(isSarashinaError(err, 'aborted')).toBe(true);
    expect(await store.verifiedSha256('m', 'a.bin')).toBeNull();
  });

  it('refuses paths that escape the model folder', async () => {
    const store = new NodeFsStore(dir);
    await expect(downloadPackage({ baseUrl, modelId: 'm', files: [{ path: '../x', sizeBytes: 1, sha256: 'x' }], store })).rejects.toThrow(/unsafe path/);
  });
});
