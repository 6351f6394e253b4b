/**
 * Test helper: a local HTTP server for files under `root` at `/<prefix>/…`, answering `bytes=a-b` Range
 * requests with 206 (when `honourRanges`) and counting them, so code that reads checkpoints or packages by
 * URL is tested against real HTTP. `sendFile` is the file-serving half, shared with the Hub-layout server.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface RangeFileServer {
  /** `http://127.0.0.1:<port>/<prefix>/` */
  readonly url: string;
  /** Range requests answered with 206 so far. */
  readonly rangeRequests: number;
  /** When false, Range headers are ignored and whole files come back with 200. */
  honourRanges: boolean;
  resetCount(): void;
  close(): Promise<void>;
}

export interface SendFileOptions {
  /** Bytes of the file to serve (its first `sizeBytes`): a truncated copy when less than the file. */
  readonly sizeBytes: number;
  /** When false, a Range header is ignored and the whole file comes back with 200. */
  readonly honourRanges: boolean;
  /** Extra response headers (ETag, CORS, …). */
  readonly headers?: Readonly<Record<string, string | number>>;
  /** Destroy the connection after sending this many body bytes (a cut download). */
  readonly cutAfterBytes?: number;
  /** With `cutAfterBytes`: 'stall' keeps the connection open and silent instead (default 'close'). */
  readonly cutMode?: 'close' | 'stall';
  /** Called with each piece of body actually written. */
  readonly onBytes?: (count: number) => void;
}

/**
 * Answers `req` with the file at `path`: 206 for a satisfiable `bytes=a-b` / `bytes=a-` range, 416 past the end,
 * 200 with the whole file otherwise; HEAD sends the headers only. Streamed from disk, never read whole, so a sparse
 * 10 GB shard can be served. Returns whether a range was answered.
 */
export function sendFile(req: IncomingMessage, res: ServerResponse, path: string, options: SendFileOptions): boolean {
  const size = options.sizeBytes;
  const headers = { 'Accept-Ranges': 'bytes', ...options.headers };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range && options.honourRanges) {
    start = Number(range[1]);
    end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
    if (start >= size || end < start) {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
      res.end();
      return false;
    }
    status = 206;
    Object.assign(headers, { 'Content-Range': `bytes ${start}-${end}/${size}` });
  }
  res.writeHead(status, { ...headers, 'Content-Length': end - start + 1 });
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return status === 206;
  }
  const stream = createReadStream(path, { start, end });
  let sent = 0;
  const cut = options.cutAfterBytes;
  stream.on('data', (data) => {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (cut !== undefined && sent + chunk.byteLength > cut) {
      stream.destroy();
      const piece = chunk.subarray(0, Math.max(0, cut - sent));
      sent += piece.byteLength;
      options.onBytes?.(piece.byteLength);
      // Written out first, then the socket is dropped (the client sees a body that stops early) or left silent.
      res.write(piece, () => (options.cutMode === 'stall' ? undefined : res.destroy()));
      return;
    }
    sent += chunk.byteLength;
    options.onBytes?.(chunk.byteLength);
    if (!res.write(chunk)) {
      stream.pause();
      res.once('drain', () => stream.resume());
    }
  });
  stream.on('end', () => res.end());
  stream.on('error', () => res.destroy());
  return status === 206;
}

export async function startRangeFileServer(root: string, prefix: string): Promise<RangeFileServer> {
  let rangeRequests = 0;
  const state = { honourRanges: true };
  const server = createServer((req, res) => {
    const path = join(root, (req.url ?? '/').replace(new RegExp(`^/${prefix}/`), ''));
    stat(path).then(
      (info) => {
        if (!info.isFile()) {
          res.writeHead(404);
          res.end();
          return;
        }
        if (sendFile(req, res, path, { sizeBytes: info.size, honourRanges: state.honourRanges })) rangeRequests++;
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${prefix}/`,
    get rangeRequests() {
      return rangeRequests;
    },
    get honourRanges() {
      return state.honourRanges;
    },
    set honourRanges(v: boolean) {
      state.honourRanges = v;
    },
    resetCount() {
      rangeRequests = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
