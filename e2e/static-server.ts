/**
 * A plain static file server for the packaging tests: what a stranger's site, a CDN or a model host is — no Vite,
 * nothing of this repository's tooling. With `cors`, every response allows any origin (as public CDNs do); without
 * it, none does, so a cross-origin page's fetches are refused by the browser.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  /** `http://<host>:<port>` without a trailing slash. */
  readonly origin: string;
  /** URL paths requested so far. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** 'localhost' or '127.0.0.1': two hosts (and ports) make separate origins, both secure contexts. */
  readonly host: 'localhost' | '127.0.0.1';
  readonly cors: boolean;
  /** Extra headers on every response (e.g. a Content-Security-Policy). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Serves `root` (index.html for a folder) on a free port. */
export async function startStaticServer(root: string, options: StaticServerOptions): Promise<StaticServer> {
  const requests: string[] = [];
  const base = normalize(root);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...options.headers };
    if (options.cors) {
      Object.assign(headers, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': '*',
        'Access-Control-Expose-Headers': 'Content-Length, Content-Type',
      });
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, headers).end();
      return;
    }
    const file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403, headers).end();
      return;
    }
    void (async () => {
      const info = await stat(file).catch(() => null);
      const target = info?.isDirectory() ? join(file, 'index.html') : file;
      const targetInfo = info?.isDirectory() ? await stat(target).catch(() => null) : info;
      if (!targetInfo?.isFile()) {
        res.writeHead(404, headers).end();
        return;
      }
      res.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES[extname(target)] ?? 'application/octet-stream', 'Content-Length': String(targetInfo.size) });
      if (req.method === 'HEAD') res.end();
      else createReadStream(target).pipe(res);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, options.host, resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('static server has no port');
  return {
    origin: `http://${options.host}:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
