/**
 * Random access to the bytes of one checkpoint file, local or remote. The safetensors reader asks
 * for one header or one tensor at a time, so memory stays bounded by the largest tensor.
 */

import { open } from 'node:fs/promises';
import { SarashinaError } from '../../src/protocol/errors';

export interface ByteSource {
  /** File name or URL, for error messages. */
  readonly name: string;
  readonly sizeBytes: number;
  /** Exactly `length` bytes from `offset`; fails with 'invalid-model' / 'download-failed' when short. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** True when `location` is an http(s) URL rather than a local path. */
export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** Opens a local file. A missing file is 'invalid-model' naming the path. */
export async function openFileSource(path: string): Promise<ByteSource> {
  let sizeBytes: number;
  try {
    const handle = await open(path, 'r');
    try {
      sizeBytes = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw new SarashinaError('invalid-model', `Cannot open checkpoint file ${path}: ${String(e)}. Check that the file exists and is readable.`, { file: path }, { cause: e });
  }
  return {
    name: path,
    sizeBytes,
    async read(offset, length) {
      const out = new Uint8Array(length);
      const handle = await open(path, 'r');
      try {
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        if (done !== length) {
          throw new SarashinaError(
            'invalid-model',
            `${path}: wanted ${length} bytes at offset ${offset} but the file ended after ${done}. The file is truncated; download it again.`,
            { file: path, offset, length, sizeBytes },
          );
        }
      } finally {
        await handle.close();
      }
      return out;
    },
  };
}

/**
 * Opens a remote file through range requests. The size comes from a `bytes=0-0` request's
 * Content-Range (or Content-Length when the server ignores ranges). A server that answers 200
 * instead of 206 is still handled: the body is streamed and only the wanted slice is kept.
 */
export async function openUrlSource(url: string, options: { fetchImpl?: typeof fetch } = {}): Promise<ByteSource> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const probe = await fetchOk(fetchImpl, url, 'bytes=0-0');
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
    async read(offset, length) {
      if (length === 0) return new Uint8Array(0);
      const response = await fetchOk(fetchImpl, url, `bytes=${offset}-${offset + length - 1}`);
      // 206: the body is the range; 200: the whole file, skip to the range.
      const skip = response.status === 206 ? 0 : offset;
      const out = await readBodySlice(response, skip, length);
      if (out === null) {
        throw new SarashinaError('download-failed', `${url}: the response ended before ${length} bytes at offset ${offset} arrived. Retry; if it persists the file on the server is truncated.`, { url, offset, length });
      }
      return out;
    },
  };
}

async function fetchOk(fetchImpl: typeof fetch, url: string, range: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { Range: range } });
  } catch (e) {
    throw new SarashinaError('download-failed', `Cannot fetch ${url}: ${String(e)}. Check the URL and the network.`, { url }, { cause: e });
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    const code = response.status === 404 ? 'invalid-model' : 'download-failed';
    throw new SarashinaError(code, `${url}: HTTP ${response.status} for range ${range}. Check that the file exists at that URL.`, { url, status: response.status });
  }
  return response;
}

/** Reads `length` bytes after skipping `skip` bytes of the body; null if the body is shorter. */
async function readBodySlice(response: Response, skip: number, length: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(length);
  if (!response.body) return null;
  const reader = response.body.getReader();
  let position = 0;
  let filled = 0;
  try {
    while (filled < length) {
      const { done, value } = await reader.read();
      if (done) return null;
      const start = Math.max(0, skip - position);
      position += value.byteLength;
      if (start >= value.byteLength) continue;
      const take = Math.min(value.byteLength - start, length - filled);
      out.set(value.subarray(start, start + take), filled);
      filled += take;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return out;
}
