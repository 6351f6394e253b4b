/**
 * The browser platform without a browser: the store is real (files on disk, the same interface as OPFS) and the
 * model is served over real HTTP from a local server; fetchKeptFile's network failures are replaced where the test
 * is about being offline. The variant choice is the engine's own chooseVariant on given adapter capabilities.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportVariants } from '../../export/package/export-variants';
import type { GpuCapabilities } from '../gpu/gpu-context';
import { NodeFsStore } from '../loader/node-fs-store';
import type { PackageChooser } from '../loader/open-model';
import { chooseVariant, planPackage, type VariantChoice } from '../model/package-plan';
import { isSarashinaError } from '../protocol/errors';
import type { PackageManifest } from '../protocol/manifest';
import type { VariantIndex } from '../protocol/variant-index';
import { type RangeFileServer, startRangeFileServer } from '../testing/range-file-server';
import { fetchKeptFile, modelIdForUrl, openRemoteModel } from './browser-platform';

const offline = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch;
const serve = (body: string, status = 200, type = 'application/json') => (() => Promise.resolve(new Response(body, { status, headers: { 'content-type': type } }))) as typeof fetch;

describe('fetchKeptFile: a small file of a stored model without network', () => {
  let dir: string;
  let store: NodeFsStore;
  const url = 'http://localhost:1/models/default/manifest.json';
  const modelId = 'localhost_1_models_default';
  const file = { url, modelId, path: 'manifest.json' };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kept-file-'));
    store = new NodeFsStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function keepCopy(text: string): Promise<void> {
    const w = await store.append(modelId, 'manifest.json', { truncate: true });
    await w.write(new TextEncoder().encode(text));
    await w.close();
  }
  const text = (bytes: Uint8Array | null): string | null => (bytes ? new TextDecoder().decode(bytes) : null);

  it('online: returns the served bytes, not the stored copy', async () => {
    await keepCopy('{"old":true}');
    expect(text(await fetchKeptFile({ ...file, store, fetchImpl: serve('{"new":true}') }))).toBe('{"new":true}');
  });

  it('offline with a stored copy: returns the copy', async () => {
    await keepCopy('{"kept":1}');
    expect(text(await fetchKeptFile({ ...file, store, fetchImpl: offline }))).toBe('{"kept":1}');
  });

  it('offline with nothing stored: download-failed naming the URL (null when the file may be absent)', async () => {
    const e = await fetchKeptFile({ ...file, store, fetchImpl: offline }).catch((err: unknown) => err);
    expect(isSarashinaError(e) && e.code).toBe('download-failed');
    expect(String((e as Error).message)).toContain(url);
    expect(await fetchKeptFile({ ...file, store, fetchImpl: offline, absentOk: true })).toBeNull();
  });

  it('an HTTP error is reported even when a copy is stored; with absentOk a 404 or an HTML page (a dev server\'s fallback) is absence', async () => {
    await keepCopy('{"kept":1}');
    const e = await fetchKeptFile({ ...file, store, fetchImpl: serve('gone', 404) }).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'download-failed', details: { status: 404 } });
    expect(await fetchKeptFile({ ...file, store, fetchImpl: serve('gone', 404), absentOk: true })).toBeNull();
    expect(await fetchKeptFile({ ...file, store, fetchImpl: serve('<!doctype html>', 200, 'text/html; charset=utf-8'), absentOk: true })).toBeNull();
    await expect(fetchKeptFile({ ...file, store, fetchImpl: serve('oops', 500), absentOk: true })).rejects.toMatchObject({ details: { status: 500 } });
  });

  it('an aborted fetch is not answered from the copy', async () => {
    await keepCopy('{"kept":1}');
    const controller = new AbortController();
    controller.abort();
    const e = await fetchKeptFile({ ...file, store, signal: controller.signal, fetchImpl: offline }).catch((err: unknown) => err);
    expect(isSarashinaError(e)).toBe(true);
  });
});

/** Capabilities of the two CPU test adapters where they matter here (DESIGN.md §8). */
const swiftshader: GpuCapabilities = {
  vendor: 'google',
  architecture: 'swiftshader',
  description: '',
  isFallbackAdapter: false,
  shaderF16: false,
  subgroups: true,
  subgroupMinSize: 4,
  subgroupMaxSize: 4,
  timestampQuery: false,
  subgroupMatrix: false,
  subgroupMatrixConfigs: [],
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 30,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
};
const lavapipe: GpuCapabilities = { ...swiftshader, vendor: 'mesa', architecture: 'llvmpipe', shaderF16: true, subgroupMinSize: 8, subgroupMaxSize: 8, maxStorageBufferBindingSize: 2 ** 27 };

describe('openRemoteModel: a model published as variants.json + one folder per variant', () => {
  let root: string;
  let server: RangeFileServer;
  let storeDir: string;
  let store: NodeFsStore;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'remote-model-'));
    await exportVariants('export/reference/fixtures/tiny/checkpoint', join(root, 'tiny'), { precisions: ['q4f32', 'q4f16'] });
    server = await startRangeFileServer(root, 'models');
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    storeDir = await mkdtemp(join(tmpdir(), 'remote-store-'));
    store = new NodeFsStore(storeDir);
  });
  afterEach(() => rm(storeDir, { recursive: true, force: true }));

  /** The engine's chooser (chooseVariant, then planPackage on the manifest), recording what it saw. */
  function engineChooser(caps: GpuCapabilities, options: { precision?: 'fp32' } = {}) {
    const seen: { index: VariantIndex | null; choice: VariantChoice | null; manifest: PackageManifest | null; reason: string } = { index: null, choice: null, manifest: null, reason: '' };
    const chooser: PackageChooser = {
      chooseVariant: (index) => {
        seen.index = index;
        seen.choice = chooseVariant(index, caps, options);
        return seen.choice.entry;
      },
      checkManifest: (manifest) => {
        seen.manifest = manifest;
        seen.reason = planPackage(manifest, caps, { ...options, ...(seen.choice ? { variant: seen.choice } : {}) }).precisionReason;
      },
    };
    return { chooser, seen };
  }

  const modelUrl = (): string => `${server.url}tiny`;
  const storedIds = async (): Promise<string[]> => (await store.list()).map((m) => m.modelId).sort();

  it('no shader-f16 (SwiftShader): downloads only q4f32, under its own id, and says why', async () => {
    const { chooser, seen } = engineChooser(swiftshader);
    const opened = await openRemoteModel({ model: modelUrl() }, chooser, { store });
    expect(seen.choice?.precision).toBe('q4f32');
    expect(seen.reason).toBe('q4f32: the adapter has no shader-f16, so not q4f16');
    expect(opened.manifest.precision).toBe('q4f32');
    const q4f32Id = modelIdForUrl(`${server.url}tiny/q4f32/`);
    expect(opened.source.id).toBe(q4f32Id);
    // The variant's files and the kept index copy; nothing of q4f16.
    expect(await storedIds()).toEqual([modelIdForUrl(`${server.url}tiny/`), q4f32Id].sort());
    const tokenizer = await opened.source.readBytes(opened.manifest.tokenizer.tokenizer.path);
    expect(tokenizer.byteLength).toBe(opened.manifest.tokenizer.tokenizer.sizeBytes);
  });

  it('shader-f16 (lavapipe): q4f16, the fastest', async () => {
    const { chooser, seen } = engineChooser(lavapipe);
    const opened = await openRemoteModel({ model: modelUrl() }, chooser, { store });
    expect(opened.manifest.precision).toBe('q4f16');
    expect(seen.reason).toBe('q4f16: the fastest of the offered variants (q4f32, q4f16)');
    expect(opened.source.id).toBe(modelIdForUrl(`${server.url}tiny/q4f16/`));
  });

  it('offline after one load: the kept index and manifest choose and open the same variant, nothing fetched', async () => {
    await openRemoteModel({ model: modelUrl() }, engineChooser(swiftshader).chooser, { store });
    const { chooser, seen } = engineChooser(swiftshader);
    const opened = await openRemoteModel({ model: modelUrl() }, chooser, { store, fetchImpl: offline });
    expect(seen.index?.variants.length).toBe(2);
    expect(opened.manifest.precision).toBe('q4f32');
  });

  it('a forced variant the model lacks: invalid-request before anything is downloaded', async () => {
    const { chooser } = engineChooser(swiftshader, { precision: 'fp32' });
    await expect(openRemoteModel({ model: modelUrl() }, chooser, { store })).rejects.toMatchObject({ code: 'invalid-request' });
    expect(await readdir(storeDir).catch(() => [])).toEqual([]);
  });

  it('a variant manifest that is not the one the index names: integrity-mismatch before any shard', async () => {
    await cp(join(root, 'tiny'), join(root, 'tampered'), { recursive: true });
    const path = join(root, 'tampered', 'q4f32', 'manifest.json');
    await writeFile(path, (await readFile(path, 'utf8')).replace('"exporter"', '"exporter" ')); // same JSON, other bytes
    const { chooser, seen } = engineChooser(swiftshader);
    await expect(openRemoteModel({ model: `${server.url}tampered` }, chooser, { store })).rejects.toMatchObject({ code: 'integrity-mismatch' });
    expect(seen.manifest).toBeNull();
    expect(await readdir(storeDir).catch(() => [])).toEqual([]);
  });

  it('a plain package URL (a folder with manifest.json) loads as before: no variant choice', async () => {
    const { chooser, seen } = engineChooser(swiftshader);
    const opened = await openRemoteModel({ model: `${server.url}tiny/q4f32/` }, chooser, { store });
    expect(seen.index).toBeNull();
    expect(seen.reason).toBe('q4f32: the only variant of this model');
    expect(opened.source.id).toBe(modelIdForUrl(`${server.url}tiny/q4f32/`));
  });
});
