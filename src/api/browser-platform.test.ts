import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeFsStore } from '../loader/node-fs-store';
import { isSarashinaError } from '../protocol/errors';
import { fetchManifestBytes } from './browser-platform';

// The store is real (files on disk, the same interface as OPFS); only the network is replaced.
describe('fetchManifestBytes: the manifest of a stored package without network', () => {
  let dir: string;
  let store: NodeFsStore;
  const manifestUrl = 'http://localhost:1/models/default/manifest.json';
  const modelId = 'localhost_1_models_default';
  const offline = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch;
  const serve = (body: string, status = 200) => (() => Promise.resolve(new Response(body, { status }))) as typeof fetch;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'manifest-copy-'));
    store = new NodeFsStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function keepCopy(text: string): Promise<void> {
    const w = await store.append(modelId, 'manifest.json', { truncate: true });
    await w.write(new TextEncoder().encode(text));
    await w.close();
  }

  it('online: returns the served bytes, not the stored copy', async () => {
    await keepCopy('{"old":true}');
    const bytes = await fetchManifestBytes({ manifestUrl, modelId, store, fetchImpl: serve('{"new":true}') });
    expect(new TextDecoder().decode(bytes)).toBe('{"new":true}');
  });

  it('offline with a stored copy: returns the copy', async () => {
    await keepCopy('{"kept":1}');
    const bytes = await fetchManifestBytes({ manifestUrl, modelId, store, fetchImpl: offline });
    expect(new TextDecoder().decode(bytes)).toBe('{"kept":1}');
  });

  it('offline with nothing stored: download-failed naming the URL', async () => {
    const e = await fetchManifestBytes({ manifestUrl, modelId, store, fetchImpl: offline }).catch((err: unknown) => err);
    expect(isSarashinaError(e) && e.code).toBe('download-failed');
    expect(String((e as Error).message)).toContain(manifestUrl);
  });

  it('an HTTP error is reported even when a copy is stored', async () => {
    await keepCopy('{"kept":1}');
    const e = await fetchManifestBytes({ manifestUrl, modelId, store, fetchImpl: serve('gone', 404) }).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'download-failed', details: { status: 404 } });
  });

  it('an aborted fetch is not answered from the copy', async () => {
    await keepCopy('{"kept":1}');
    const controller = new AbortController();
    controller.abort();
    const e = await fetchManifestBytes({ manifestUrl, modelId, store, signal: controller.signal, fetchImpl: offline }).catch((err: unknown) => err);
    expect(isSarashinaError(e)).toBe(true);
  });
});
