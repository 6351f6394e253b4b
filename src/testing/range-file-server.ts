/**
 * Test helper: a local HTTP server for files under `root` at `/<prefix>/…`, answering `bytes=a-b` Range
 * requests with 206 (when `honourRanges`) and counting them, so code that reads checkpoints or packages by
 * URL is tested against real HTTP.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
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

export async function startRangeFileServer(root: string, prefix: string): Promise<RangeFileServer> {
  let rangeRequests = 0;
  const state = { honourRanges: true };
  const server = createServer((req, res) => {
    // Files are streamed from disk, never read whole, so a sparse 10 GB shard can be served.
    const path = join(root, (req.url ?? '/').replace(new RegExp(`^/${prefix}/`), ''));
    stat(path).then(
      (info) => {
        if (!info.isFile()) {
          res.writeHead(404);
          res.end();
          return;
        }
        const size = info.size;
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (range && state.honourRanges) {
          rangeRequests++;
          const start = Number(range[1]);
          const end = Math.min(Number(range[2]), size - 1);
          res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
          createReadStream(path, { start, end }).pipe(res);
        } else {
          res.writeHead(200, { 'Content-Length': size });
          createReadStream(path).pipe(res);
        }
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
