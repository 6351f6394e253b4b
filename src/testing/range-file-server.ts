/**
 * Test helper: a local HTTP server for files under `root` at `/<prefix>/…`, answering `bytes=a-b` Range
 * requests with 206 (when `honourRanges`) and counting them, so code that reads checkpoints or packages by
 * URL is tested against real HTTP.
 */
import { readFile } from 'node:fs/promises';
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
    readFile(join(root, (req.url ?? '/').replace(new RegExp(`^/${prefix}/`), ''))).then(
      (body) => {
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (range && state.honourRanges) {
          rangeRequests++;
          const start = Number(range[1]);
          const end = Math.min(Number(range[2]), body.byteLength - 1);
          res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${body.byteLength}`, 'Content-Length': end - start + 1 });
          res.end(body.subarray(start, end + 1));
        } else {
          res.writeHead(200, { 'Content-Length': body.byteLength });
          res.end(body);
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
