/**
 * Downloads the files of a model package into a ModelStore: bounded parallelism, one aggregate progress,
 * resume of interrupted files with HTTP Range, sha256 verified before a file counts as cached. A store that refuses a
 * write for lack of space (QuotaExceededError) ends the download as `storage-quota-exceeded` and the model's stored
 * files are deleted: a model that cannot be stored whole is not kept in part.
 */
import { SarashinaError } from '../protocol/errors';
import { type DownloadProgress, ProgressTracker } from './download-progress';
import { assertSafePath, type ModelStore } from './model-store';
import { Sha256 } from './sha256';

export interface PackageFileRef {
  /** Path relative to the package base URL. */
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface DownloadOptions {
  readonly baseUrl: string;
  readonly modelId: string;
  readonly files: readonly PackageFileRef[];
  readonly store: ModelStore;
  /** Files fetched at once (default 4). */
  readonly concurrency?: number;
  /** Network retries per file, each resuming where the last stopped (default 3). */
  readonly retries?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly fetch?: typeof fetch;
}

/** Ensures every file is in the store and verified; downloads what is missing. Resolves when all are verified. */
export async function downloadPackage(options: DownloadOptions): Promise<void> {
  const { files, store, modelId } = options;
  for (const f of files) assertSafePath(f.path);
  const total = files.reduce((n, f) => n + f.sizeBytes, 0);
  const tracker = new ProgressTracker(total, files.length, (p) => options.onProgress?.(p));

  const pending: PackageFileRef[] = [];
  let missingBytes = 0;
  for (const f of files) {
    if ((await store.verifiedSha256(modelId, f.path)) === f.sha256) {
      tracker.addCached(f.sizeBytes, true);
    } else {
      pending.push(f);
      missingBytes += f.sizeBytes - Math.min(f.sizeBytes, await store.size(modelId, f.path));
    }
  }
  const available = await store.availableBytes();
  if (available !== null && available < missingBytes) {
    throw new SarashinaError(
      'storage-quota-exceeded',
      `The model needs ${formatBytes(missingBytes)} more storage but the browser allows only ${formatBytes(available)} for this site. ` +
        'Free disk space, delete other cached models, or allow persistent storage for this site.',
      { neededBytes: missingBytes, availableBytes: available },
    );
  }

  // The first failure stops the other files (their own aborts are not reported) and is thrown once all have stopped.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const inner: DownloadOptions = { ...options, signal };
  let failure: { readonly error: unknown } | null = null;
  const queue = [...pending];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f && !failure; f = queue.shift()) {
      try {
        await downloadFile(f, inner, tracker);
      } catch (error) {
        failure ??= { error };
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, worker));
  if (!failure) return;
  const { error } = failure;
  if (!isQuotaExceeded(error)) throw error;
  // navigator.storage.estimate() does not always tell (Chromium reports a fixed quota to pages; a disk fills up from
  // elsewhere), so the write is what finds out. A model that cannot be stored whole is not kept in part.
  await store.deleteModel(modelId).catch(() => undefined);
  throw new SarashinaError(
    'storage-quota-exceeded',
    `The browser refused to store the model: it needs ${formatBytes(missingBytes)} more storage and this site's quota ran out while storing it ` +
      `(the browser had reported ${available === null ? 'no quota' : `${formatBytes(available)} available`}). The part already stored was deleted. ` +
      'Free disk space, delete other cached models, or allow persistent storage for this site, then try again.',
    { neededBytes: missingBytes, availableBytes: available ?? -1 },
    { cause: error },
  );
}

/** A write refused for lack of storage (OPFS and IndexedDB throw a DOMException named QuotaExceededError). */
function isQuotaExceeded(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'QuotaExceededError';
}

async function downloadFile(file: PackageFileRef, options: DownloadOptions, tracker: ProgressTracker): Promise<void> {
  const { store, modelId, signal } = options;
  const doFetch = options.fetch ?? fetch;
  const url = new URL(file.path, options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`).href;
  const retries = options.retries ?? 3;

  let attempt = 0;
  for (;;) {
    throwIfAborted(signal);
    // Re-hash what a previous attempt left, so resumed files are verified end to end.
    const hash = new Sha256();
    let have = Math.min(await store.size(modelId, file.path), file.sizeBytes);
    if (have > 0) {
      have = await hashStored(store, modelId, file.path, hash, have);
      tracker.addCached(have, false);
    }
    try {
      if (have < file.sizeBytes) {
        const response = await doFetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: signal ?? null });
        if (!(response.status === 200 || (response.status === 206 && have > 0)) || !response.body) {
          throw new SarashinaError(
            'download-failed',
            `Downloading ${url} failed with HTTP ${response.status}. Check the model URL and your connection, then try again.`,
            { url, status: response.status },
          );
        }
        const restart = response.status === 200 && have > 0; // server ignored Range: start over
        if (restart) {
          tracker.retract(have);
          have = 0;
        }
        const writer = await store.append(modelId, file.path, { truncate: have === 0 });
        const digest = restart ? new Sha256() : hash;
        try {
          const reader = response.body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (have + value.byteLength > file.sizeBytes) {
              throw integrityError(url, file, `the server sent more than the ${file.sizeBytes} bytes the manifest lists`);
            }
            digest.update(value);
            await writer.write(value);
            have += value.byteLength;
            tracker.addDownloaded(file.path, value.byteLength);
          }
        } catch (e) {
          // A stream that errored (a refused write) cannot be closed: the write's error is the one to report.
          await writer.close().catch(() => undefined);
          throw e;
        }
        await writer.close();
        await finish(file, url, have, digest.digestHex(), options, tracker);
        return;
      }
      await finish(file, url, have, hash.digestHex(), options, tracker);
      return;
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      const retryable = !(e instanceof SarashinaError) && !isQuotaExceeded(e) && attempt < retries;
      if (!retryable) {
        if (e instanceof SarashinaError || isQuotaExceeded(e)) throw e;
        throw new SarashinaError(
          'download-failed',
          `Downloading ${url} failed after ${attempt + 1} attempts (${String(e)}). The part already downloaded is kept; try again to resume.`,
          { url, attempts: attempt + 1 },
          { cause: e },
        );
      }
      attempt++;
      tracker.retract(Math.min(await store.size(modelId, file.path), file.sizeBytes));
    }
  }
}

async function finish(file: PackageFileRef, url: string, have: number, digest: string, options: DownloadOptions, tracker: ProgressTracker): Promise<void> {
  if (have !== file.sizeBytes || digest !== file.sha256) {
    await options.store.discard(options.modelId, file.path);
    tracker.retract(have);
    throw integrityError(url, file, have !== file.sizeBytes ? `got ${have} bytes, expected ${file.sizeBytes}` : `sha256 ${digest} ≠ ${file.sha256}`);
  }
  await options.store.markVerified(options.modelId, file.path, digest);
  tracker.fileDone();
}

async function hashStored(store: ModelStore, modelId: string, path: string, hash: Sha256, limit: number): Promise<number> {
  const reader = (await store.read(modelId, path)).getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done || n >= limit) break;
    const part = value.subarray(0, Math.min(value.byteLength, limit - n));
    hash.update(part);
    n += part.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return n;
}

function integrityError(url: string, file: PackageFileRef, what: string): SarashinaError {
  return new SarashinaError(
    'integrity-mismatch',
    `${url} does not match the manifest (${what}). The bad copy was deleted; if the server's file is corrupt or was replaced, ` +
      're-export or re-upload the package, then load again.',
    { url, path: file.path, expectedSha256: file.sha256, expectedBytes: file.sizeBytes },
  );
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

function abortError(signal: AbortSignal): SarashinaError {
  return new SarashinaError('aborted', `The download was cancelled (${String(signal.reason ?? 'aborted')}). What was downloaded is kept.`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
