/**
 * A checkpoint in a plain http(s) folder (`<base>/config.json`, `<base>/model-00001-of-00002.safetensors`, …):
 * small files fetched whole, safetensors shards read with Range requests. Works in the browser and in Node.
 */
import { SarashinaError } from '../protocol/errors';
import type { ByteSource, CheckpointSource } from './checkpoint-source';
import { readBodySlice } from './response-slice';

export interface HttpSourceOptions {
  /** Replaces global fetch (tests, auth headers). */
  readonly fetchImpl?: typeof fetch;
}

/** True when `location` is an http(s) URL rather than a local path. */
export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** The checkpoint under the http(s) folder `baseUrl`. */
export function openHttpFolderCheckpoint(baseUrl: string, options: HttpSourceOptions = {}): CheckpointSource {
  const base = baseUrl.replace(/\/+$/, '');
  const url = (file: string): string => `${base}/${file}`;
  const fetchImpl = options.fetchImpl ?? globalThis.fetch.bind(globalThis);
  return {
    description: describeUrl(baseUrl),
    async readFile(name, signal) {
      let response: Response;
      try {
        response = await fetchImpl(url(name), signal ? { signal } : {});
      } catch (cause) {
        if (signal?.aborted) throw abortedRead(url(name));
        throw new SarashinaError('download-failed', `Could not fetch ${url(name)} (${String(cause)}). Check the URL and the network.`, { url: url(name) }, { cause });
      }
      // A static host's missing file, or a dev server's single-page fallback (an HTML page for any path).
      if (response.status === 404 || response.status === 410 || (response.ok && /text\/html/i.test(response.headers.get('content-type') ?? '') && !name.endsWith('.html'))) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new SarashinaError('download-failed', `Fetching ${url(name)} failed with HTTP ${response.status}. Check the URL and access rights.`, { url: url(name), status: response.status });
      }
      return new Uint8Array(await response.arrayBuffer());
    },
    openFile: (name, signal) => openUrlSource(url(name), { fetchImpl }, signal),
  };
}

/** The URL without credentials or query string (it goes into messages and the manifest). */
export function describeUrl(location: string): string {
  try {
    const u = new URL(location);
    return `${u.origin}${u.pathname}`;
  } catch {
    return location;
  }
}

function abortedRead(url: string): SarashinaError {
  return new SarashinaError('aborted', `Reading ${describeUrl(url)} was cancelled.`, { url: describeUrl(url) });
}

/**
 * Opens a remote file through range requests. The size comes from a `bytes=0-0` request's
 * Content-Range (or Content-Length when the server ignores ranges). A server that answers 200
 * instead of 206 is still handled: the body is streamed and only the wanted slice is kept.
 */
export async function openUrlSource(url: string, options: HttpSourceOptions = {}, signal?: AbortSignal): Promise<ByteSource> {
  const fetchImpl = options.fetchImpl ?? globalThis.fetch.bind(globalThis);
  const probe = await fetchOk(fetchImpl, url, 'bytes=0-0', signal);
  let sizeBytes = NaN;
  const contentRange = probe.headers.get('content-range');
  if (probe.status === 206 && contentRange) {
    const total = /\/(\d+)\s*$/.exec(contentRange)?.[1];
    if (total !== undefined) sizeBytes = Number(total);
  } else {
    const length = probe.headers.get('content-length');
    if (length !== null) sizeBytes = Number(length);
  }
  await probe.body?.cancel();
  if (!Number.isFinite(sizeBytes)) {
    throw new SarashinaError('download-failed', `${url}: the server reported no file size (no Content-Range or Content-Length). Use a server that supports range requests, or download the file first.`, { url });
  }
  return {
    name: url,
    sizeBytes,
    async read(offset, length, readSignal) {
      if (length === 0) return new Uint8Array(0);
      const response = await fetchOk(fetchImpl, url, `bytes=${offset}-${offset + length - 1}`, readSignal);
      // 206: the body is the range; 200: the whole file, skip to the range.
      const skip = response.status === 206 ? 0 : offset;
      let out: Uint8Array | null;
      try {
        out = await readBodySlice(response, skip, length);
      } catch (cause) {
        if (readSignal?.aborted) throw abortedRead(url);
        throw new SarashinaError('download-failed', `${url}: the connection broke while reading ${length} bytes at offset ${offset} (${String(cause)}). Retry; a conversion resumes where it stopped.`, { url, offset, length }, { cause });
      }
      if (out === null) {
        throw new SarashinaError('download-failed', `${url}: the response ended before ${length} bytes at offset ${offset} arrived. Retry; if it persists the file on the server is truncated.`, { url, offset, length });
      }
      return out;
    },
  };
}

async function fetchOk(fetchImpl: typeof fetch, url: string, range: string, signal: AbortSignal | undefined): Promise<Response> {
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { Range: range }, ...(signal ? { signal } : {}) });
  } catch (e) {
    if (signal?.aborted) throw abortedRead(url);
    throw new SarashinaError('download-failed', `Cannot fetch ${url}: ${String(e)}. Check the URL and the network.`, { url }, { cause: e });
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    const code = response.status === 404 ? 'invalid-model' : 'download-failed';
    throw new SarashinaError(code, `${url}: HTTP ${response.status} for range ${range}. Check that the file exists at that URL.`, { url, status: response.status });
  }
  return response;
}
