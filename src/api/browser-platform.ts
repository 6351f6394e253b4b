/**
 * The browser's engine platform: the model's small files fetched (variants.json when the model has one, then the
 * chosen package's manifest.json), the package downloaded (resumable, verified) into OPFS under its own id — one
 * per variant, so each variant is cached and deleted on its own — and images decoded by the browser.
 */
import { downloadPackage } from '../loader/download-package';
import type { ModelStore } from '../loader/model-store';
import { openModel, type PackageChooser } from '../loader/open-model';
import { OpfsStore } from '../loader/opfs-store';
import { readAll, StoreSource } from '../loader/package-source';
import type { PackageSource } from '../protocol/package-source';
import type { EngineOptions } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, packageFiles } from '../protocol/manifest';
import { VARIANT_INDEX_FILE_NAME } from '../protocol/variant-index';
import type { CheckpointSource } from '../convert/checkpoint-source';
import type { IncrementalHash } from '../convert/store-sink';
import { openHttpFolderCheckpoint } from '../convert/http-folder-source';
import { openHubCheckpoint } from '../convert/hub-source';
import { decodeBrowserImage } from './browser-image-decoder';
import { isHubModel, isOffline, openCheckpointModel, openConvertedOffline } from './checkpoint-model';
import type { EnginePlatform, OpenedPackage } from './engine-platform';

export function browserPlatform(): EnginePlatform {
  return { openSource: (options, chooser) => openRemoteModel(options, chooser, { store: new OpfsStore(), openHub: openHubModel }), decodeImage: decodeBrowserImage };
}

/** A Hub checkpoint at options.revision, with the page's token (sent only to the Hub, never stored). */
export function openHubModel(model: string, options: EngineOptions, fetchImpl: typeof fetch | undefined): Promise<CheckpointSource> {
  return openHubCheckpoint(model, {
    ...(options.revision === undefined ? {} : { revision: options.revision }),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.hubEndpoint === undefined ? {} : { endpoint: options.hubEndpoint }),
    ...(fetchImpl ? { fetchImpl } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** The store id of a package URL: its host and path as one safe folder name. */
export function modelIdForUrl(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|[._]+$/g, '') || 'model';
}

/** Where the files go and how they are fetched (the browser: OPFS and fetch; tests: a directory and a local server). */
export interface RemoteModelDeps {
  readonly store: ModelStore;
  readonly fetchImpl?: typeof fetch;
  /** Node: node:crypto's SHA-256 for converted packages (the pure-JS one by default). */
  readonly newHash?: () => IncrementalHash;
  /** Opens a Hugging Face Hub checkpoint (a model id or Hub URL) at options.revision. */
  readonly openHub?: (model: string, options: EngineOptions, fetchImpl: typeof fetch | undefined) => Promise<CheckpointSource>;
}

/** An answer that the package's manifest is not there (the folder may hold an original checkpoint instead). */
function isAbsentManifest(e: unknown): boolean {
  const status = e instanceof SarashinaError && e.code === 'download-failed' ? (e.details as { status?: unknown } | undefined)?.status : undefined;
  return typeof status === 'number' && ABSENT_STATUSES.includes(status);
}

/**
 * Opens the model at the URL `options.model` (openModel: index, choice, manifest check), downloads the chosen
 * package's files into `deps.store` under the package URL's id and returns a source reading them from there.
 * Copies of variants.json and manifest.json are kept in the store, so a model loaded once loads offline.
 */
export async function openRemoteModel(options: EngineOptions, chooser: PackageChooser, deps: RemoteModelDeps): Promise<OpenedPackage> {
  const { store, openHub } = deps;
  const checkpointDeps = { store, ...(deps.newHash ? { newHash: deps.newHash } : {}) };
  if (isHubModel(options.model, options.hubEndpoint)) {
    if (!openHub) throw new SarashinaError('invalid-request', `${options.model} looks like a Hugging Face Hub model id, but this platform cannot open the Hub. Pass the URL of a package or checkpoint folder.`, { model: options.model });
    return openCheckpointModel(options, chooser, checkpointDeps, () => openHub(options.model, options, deps.fetchImpl));
  }
  try {
    return await openPackageUrl(options, chooser, deps);
  } catch (e) {
    // Offline: a checkpoint converted earlier under this model string. A folder without a package: a checkpoint.
    if (isOffline(e)) {
      const cached = await openConvertedOffline(options, chooser, checkpointDeps).catch(() => null);
      if (cached) return cached;
    } else if (isAbsentManifest(e)) {
      const folder = openHttpFolderCheckpoint(new URL(options.model.endsWith('/') ? options.model : `${options.model}/`, globalThis.location?.href).href, deps.fetchImpl ? { fetchImpl: deps.fetchImpl } : {});
      if (await folder.readFile('config.json', options.signal).catch(() => null)) return openCheckpointModel(options, chooser, checkpointDeps, () => Promise.resolve(folder));
    }
    throw e;
  }
}

/** A package (or variants) at the URL `options.model`, downloaded into the store. */
async function openPackageUrl(options: EngineOptions, chooser: PackageChooser, deps: RemoteModelDeps): Promise<OpenedPackage> {
  const { store } = deps;
  const base = new URL(options.model.endsWith('/') ? options.model : `${options.model}/`, globalThis.location?.href);
  const baseId = modelIdForUrl(base.href);
  const packageUrl = (folder: string | null): URL => (folder === null ? base : new URL(`${folder}/`, base));
  const common = { store, ...(options.signal ? { signal: options.signal } : {}), ...(deps.fetchImpl ? { fetchImpl: deps.fetchImpl } : {}) };
  let indexBytes: Uint8Array | null = null;
  const opened = await openModel(
    {
      location: base.href.replace(/\/$/, ''),
      readIndex: async () => (indexBytes = await fetchKeptFile({ ...common, url: new URL(VARIANT_INDEX_FILE_NAME, base).href, modelId: baseId, path: VARIANT_INDEX_FILE_NAME, absentOk: true })),
      readManifest: async (folder) => {
        const url = new URL(MANIFEST_FILE_NAME, packageUrl(folder)).href;
        const bytes = await fetchKeptFile({ ...common, url, modelId: modelIdForUrl(packageUrl(folder).href), path: MANIFEST_FILE_NAME });
        if (!bytes) throw new SarashinaError('internal', `No bytes for ${url}.`);
        return bytes;
      },
    },
    chooser,
  );
  const root = packageUrl(opened.variant ? opened.variant.path : null);
  const modelId = modelIdForUrl(root.href);
  // Kept so that a later load with no network (offline PWA) finds the same model in the store.
  if (indexBytes) await keepCopy(store, baseId, VARIANT_INDEX_FILE_NAME, indexBytes);
  await keepCopy(store, modelId, MANIFEST_FILE_NAME, opened.manifestBytes);
  const onProgress = options.onProgress;
  await downloadPackage({
    baseUrl: root.href,
    modelId,
    files: packageFiles(opened.manifest),
    store,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(deps.fetchImpl ? { fetch: deps.fetchImpl } : {}),
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
  // The manifest itself is not a listed package file: serve the copy just read.
  const source: PackageSource = {
    id: modelId,
    readBytes: (path) => (path === MANIFEST_FILE_NAME ? Promise.resolve(opened.manifestBytes) : stored.readBytes(path)),
    stream: (path) => stored.stream(path),
  };
  return { manifest: opened.manifest, source };
}

/** HTTP statuses a static host answers for a file that is not there. */
const ABSENT_STATUSES = [403, 404, 410];

/**
 * A small file of a model: fetched from `url`; when the fetch fails at the network level (offline), the copy kept
 * in `store` under (`modelId`, `path`) by the last successful load. With `absentOk`, null when the file is not
 * there: an HTTP 403/404/410, an HTML page (a dev server's single-page fallback), or offline without a copy.
 * An HTTP error (the server answered) or an abort is otherwise never hidden behind the copy.
 */
export async function fetchKeptFile(options: {
  readonly url: string;
  readonly modelId: string;
  readonly path: string;
  readonly store: ModelStore;
  readonly signal?: AbortSignal;
  readonly fetchImpl?: typeof fetch;
  readonly absentOk?: boolean;
}): Promise<Uint8Array | null> {
  const { url, modelId, path, store, signal } = options;
  let response: Response;
  try {
    response = await (options.fetchImpl ?? fetch)(url, signal ? { signal } : {});
  } catch (cause) {
    const copy = signal?.aborted ? null : await readCopy(store, modelId, path);
    if (copy) return copy;
    if (options.absentOk && !signal?.aborted) return null;
    throw new SarashinaError('download-failed', `Could not fetch ${url} (${String(cause)}). Check the model URL and your connection.${corsHint(url)}`, { url }, { cause });
  }
  if (options.absentOk && (ABSENT_STATUSES.includes(response.status) || (response.ok && /text\/html/i.test(response.headers.get('content-type') ?? '')))) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) {
    throw new SarashinaError('download-failed', `${url} answered HTTP ${response.status}. Check that model points at the folder holding ${MANIFEST_FILE_NAME} or ${VARIANT_INDEX_FILE_NAME}.`, {
      url,
      status: response.status,
    });
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** A browser reports a CORS refusal as a plain network error: name the likely cause when the model is on another origin. */
function corsHint(url: string): string {
  if (typeof self === 'undefined' || !self.location) return '';
  const page = self.location.origin;
  const target = URL.canParse(url, self.location.href) ? new URL(url, self.location.href).origin : page;
  return target !== page ? ` The model is on another origin (${target}) than the page (${page}): its server must allow the page with CORS (Access-Control-Allow-Origin).` : '';
}

async function keepCopy(store: ModelStore, modelId: string, path: string, bytes: Uint8Array): Promise<void> {
  const writer = await store.append(modelId, path, { truncate: true });
  try {
    await writer.write(bytes);
  } finally {
    await writer.close();
  }
}

/** The kept copy of a small file, or null. */
export async function readCopy(store: ModelStore, modelId: string, path: string): Promise<Uint8Array | null> {
  if ((await store.size(modelId, path)) === 0) return null;
  return readAll(await store.read(modelId, path));
}
