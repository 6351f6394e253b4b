/** The browser's engine platform: the package downloaded (resumable, verified) into OPFS, images decoded by the browser. */
import { downloadPackage } from '../loader/download-package';
import { OpfsStore } from '../loader/opfs-store';
import { StoreSource } from '../loader/package-source';
import type { PackageSource } from '../protocol/package-source';
import type { EngineOptions } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, packageFiles, parseManifest } from '../protocol/manifest';
import { decodeBrowserImage } from './browser-image-decoder';
import type { EnginePlatform } from './engine-platform';

export function browserPlatform(): EnginePlatform {
  return { openSource: openBrowserSource, decodeImage: decodeBrowserImage };
}

/** The store id of a package URL: its host and path as one safe folder name. */
export function modelIdForUrl(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|[._]+$/g, '') || 'model';
}

async function openBrowserSource(options: EngineOptions): Promise<PackageSource> {
  const base = new URL(options.model.endsWith('/') ? options.model : `${options.model}/`, globalThis.location?.href);
  const manifestUrl = new URL(MANIFEST_FILE_NAME, base).href;
  let response: Response;
  try {
    response = await fetch(manifestUrl, options.signal ? { signal: options.signal } : {});
  } catch (cause) {
    throw new SarashinaError('download-failed', `Could not fetch ${manifestUrl} (${String(cause)}). Check the model URL and your connection.`, { url: manifestUrl }, { cause });
  }
  if (!response.ok) {
    throw new SarashinaError('download-failed', `${manifestUrl} answered HTTP ${response.status}. Check that model points at the folder holding manifest.json.`, {
      url: manifestUrl,
      status: response.status,
    });
  }
  const manifestBytes = new Uint8Array(await response.arrayBuffer());
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (cause) {
    throw new SarashinaError('invalid-model', `${manifestUrl} is not valid JSON. Re-export the package.`, { url: manifestUrl }, { cause });
  }
  const manifest = parseManifest(manifestJson);
  const modelId = modelIdForUrl(base.href);
  const store = new OpfsStore();
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
  return {
    id: modelId,
    readBytes: (path) => (path === MANIFEST_FILE_NAME ? Promise.resolve(manifestBytes) : stored.readBytes(path)),
    stream: (path) => stored.stream(path),
  };
}
