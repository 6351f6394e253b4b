/** The browser's engine platform: the package downloaded (resumable, verified) into OPFS, images decoded by the browser. */
import { downloadPackage } from '../loader/download-package';
import { OpfsStore } from '../loader/opfs-store';
import type { ModelStore } from '../loader/model-store';
import { readAll, StoreSource } from '../loader/package-source';
import type { PackageSource } from '../protocol/package-source';
import type { EngineOptions } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, type PackageManifest, packageFiles, parseManifest } from '../protocol/manifest';
import { decodeBrowserImage } from './browser-image-decoder';
import type { EnginePlatform, OpenedPackage } from './engine-platform';

export function browserPlatform(): EnginePlatform {
  return { openSource: openBrowserSource, decodeImage: decodeBrowserImage };
}

/** The store id of a package URL: its host and path as one safe folder name. */
export function modelIdForUrl(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|[._]+$/g, '') || 'model';
}

async function openBrowserSource(options: EngineOptions, checkManifest?: (manifest: PackageManifest) => void): Promise<OpenedPackage> {
  const base = new URL(options.model.endsWith('/') ? options.model : `${options.model}/`, globalThis.location?.href);
  const manifestUrl = new URL(MANIFEST_FILE_NAME, base).href;
  const modelId = modelIdForUrl(base.href);
  const store = new OpfsStore();
  const manifestBytes = await fetchManifestBytes({ manifestUrl, modelId, store, ...(options.signal ? { signal: options.signal } : {}) });
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (cause) {
    throw new SarashinaError('invalid-model', `${manifestUrl} is not valid JSON. Re-export the package.`, { url: manifestUrl }, { cause });
  }
  const manifest = parseManifest(manifestJson);
  checkManifest?.(manifest);
  // Kept so that a later load with no network (offline PWA) finds the same package in the store.
  await saveManifestCopy(store, modelId, manifestBytes);
  const onProgress = options.onProgress;
  await downloadPackage({
    baseUrl: base.href,
    modelId,
    files: packageFiles(manifest),
    store,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(onProgress
      ? {
          onProgress: (p) =>
            onProgress({
              phase: 'download',
              loadedBytes: p.loadedBytes,
              totalBytes: p.totalBytes,
              filesDone: p.filesDone,
              filesTotal: p.filesTotal,
              bytesPerSecond: p.bytesPerSecond,
              etaSeconds: p.etaSeconds,
            }),
        }
      : {}),
  });
  const stored = new StoreSource(store, modelId);
  // The manifest itself is not a listed package file: serve the copy just fetched.
  const source: PackageSource = {
    id: modelId,
    readBytes: (path) => (path === MANIFEST_FILE_NAME ? Promise.resolve(manifestBytes) : stored.readBytes(path)),
    stream: (path) => stored.stream(path),
  };
  return { manifest, source };
}

/**
 * The manifest's bytes: fetched from `manifestUrl`; when the fetch fails at the network level (offline), the
 * copy kept in `store` by the last successful load, so a downloaded package loads without network. An HTTP
 * error (the server answered) or an abort is not hidden behind the copy.
 */
export async function fetchManifestBytes(options: {
  readonly manifestUrl: string;
  readonly modelId: string;
  readonly store: ModelStore;
  readonly signal?: AbortSignal;
  readonly fetchImpl?: typeof fetch;
}): Promise<Uint8Array> {
  const { manifestUrl, modelId, store, signal } = options;
  let response: Response;
  try {
    response = await (options.fetchImpl ?? fetch)(manifestUrl, signal ? { signal } : {});
  } catch (cause) {
    const copy = signal?.aborted ? null : await readManifestCopy(store, modelId);
    if (copy) return copy;
    throw new SarashinaError('download-failed', `Could not fetch ${manifestUrl} (${String(cause)}). Check the model URL and your connection.`, { url: manifestUrl }, { cause });
  }
  if (!response.ok) {
    throw new SarashinaError('download-failed', `${manifestUrl} answered HTTP ${response.status}. Check that model points at the folder holding manifest.json.`, {
      url: manifestUrl,
      status: response.status,
    });
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function saveManifestCopy(store: ModelStore, modelId: string, bytes: Uint8Array): Promise<void> {
  const writer = await store.append(modelId, MANIFEST_FILE_NAME, { truncate: true });
  try {
    await writer.write(bytes);
  } finally {
    await writer.close();
  }
}

async function readManifestCopy(store: ModelStore, modelId: string): Promise<Uint8Array | null> {
  if ((await store.size(modelId, MANIFEST_FILE_NAME)) === 0) return null;
  return readAll(await store.read(modelId, MANIFEST_FILE_NAME));
}
