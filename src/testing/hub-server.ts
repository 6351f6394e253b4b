/**
 * Test helper: a local stand-in for the Hugging Face Hub, serving checkpoint folders in the Hub's layout, so the Hub
 * source is tested against real HTTP without the Hub:
 *
 *   GET  /api/models/<org>/<name>[/revision/<rev>]   JSON { id, sha, siblings: [{ rfilename, size, blobId, lfs? }] }
 *   GET|HEAD /<org>/<name>/resolve/<rev>/<file>      rev = a branch/tag or a commit sha; X-Repo-Commit on every answer;
 *        *.safetensors (LFS): 302 to <cdn origin>/cdn/<sha256>?expires=<n> with X-Linked-Etag / X-Linked-Size, as the
 *        Hub does (its signed CDN addresses expire: `expireCdnUrls` makes the old ones answer 403);
 *        other files: 200/206 with ETag = the git blob id
 *   the CDN (a second port, so another origin): 200/206/416, ETag = the sha256
 *
 * Errors carry the Hub's X-Error-Code (RepoNotFound — 401 without a token, as the Hub answers anonymous requests —,
 * RevisionNotFound, EntryNotFound, GatedRepo). CORS on both origins allows Authorization and Range and exposes the
 * headers a client reads (unless `exposeHeaders: false`, a server that hides them; `cors: false`: none). Faults: a connection cut after N
 * body bytes (once or every time) or a connection left silent, a truncated copy of a file, an HTTP status; bytes served
 * and requests are recorded.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve as resolvePath, sep } from 'node:path';
import { sendFile } from './range-file-server';

export interface HubServerRepo {
  /** Commit sha (40 hex) → a folder holding that commit's files. */
  readonly commits: Readonly<Record<string, string>>;
  /** Branch or tag → commit sha. */
  readonly refs: Readonly<Record<string, string>>;
  /**
   * 'private': every request 401 RepoNotFound without the right token (404 with a wrong one), as for a repository that
   * does not exist; 'gated': the API lists the files to anyone, file downloads are 401 GatedRepo without a token and 403
   * with one whose account has not accepted the conditions.
   */
  readonly access?: { readonly token: string; readonly kind: 'private' | 'gated' };
}

export interface HubServerOptions {
  /** `org/name` → repository. */
  readonly repos: Readonly<Record<string, HubServerRepo>>;
  /** Default true; false hides every non-safelisted header from a page on another origin. */
  readonly exposeHeaders?: boolean;
  /** Default true; false sends no CORS headers at all (a page on another origin cannot read anything). */
  readonly cors?: boolean;
}

export interface HubRequestRecord {
  readonly origin: 'hub' | 'cdn';
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

export interface HubServer {
  /** The endpoint: `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  /** The CDN's origin, another port. */
  readonly cdnUrl: string;
  /** When false, Range headers are ignored and whole files come back with 200. */
  honourRanges: boolean;
  /** Makes every CDN address handed out so far answer 403, as the Hub's signed CDN URLs do when they expire. */
  expireCdnUrls(): void;
  /** Points a branch or tag at another commit (a push). */
  setRef(repoId: string, ref: string, sha: string): void;
  /** The next `times` responses for `file` (default 1; Infinity: all) stop after `afterBytes` body bytes. */
  cutConnection(file: string, afterBytes: number, options?: { times?: number }): void;
  /** Like cutConnection, but the connection stays open and sends nothing more (a stalled download). */
  stallConnection(file: string, afterBytes: number, options?: { times?: number }): void;
  /** Serves only the first `sizeBytes` of `file` (the listing keeps the commit's size). */
  truncate(file: string, sizeBytes: number): void;
  /** The next `times` requests for `file` get HTTP `status` (default once), with a Retry-After when given. */
  failWith(file: string, status: number, options?: { times?: number; retryAfterSeconds?: number }): void;
  clearFaults(): void;
  /** Body bytes sent for `file` (any commit) since the last reset. */
  bytesServed(file: string): number;
  readonly requests: readonly HubRequestRecord[];
  resetCounts(): void;
  close(): Promise<void>;
}

const LFS_FILE = /\.safetensors$/;
const EXPOSED = 'Content-Range, Content-Length, ETag, Accept-Ranges, X-Repo-Commit, X-Error-Code, X-Error-Message, X-Linked-Etag, X-Linked-Size';

interface Fault {
  cutAfterBytes?: number;
  cutMode?: 'close' | 'stall';
  cutTimes: number;
  truncateTo?: number;
  status?: number;
  statusTimes: number;
  retryAfterSeconds?: number | undefined;
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const repos = new Map(Object.entries(options.repos).map(([id, r]) => [id, { ...r, refs: { ...r.refs } }]));
  const cors = (): Record<string, string> =>
    options.cors === false ? {} : { 'Access-Control-Allow-Origin': '*', ...(options.exposeHeaders === false ? {} : { 'Access-Control-Expose-Headers': EXPOSED }) };
  const faults = new Map<string, Fault>();
  const served = new Map<string, number>();
  const requests: HubRequestRecord[] = [];
  const state = { honourRanges: true, cdnGeneration: 0 };
  const hashes = new Map<string, Promise<{ sha256: string; gitBlob: string }>>();
  const cdnFiles = new Map<string, { path: string; file: string }>();

  const hashesOf = (path: string): Promise<{ sha256: string; gitBlob: string }> => {
    let p = hashes.get(path);
    if (!p) {
      p = stat(path).then(
        (info) =>
          new Promise((resolve, reject) => {
            const sha256 = createHash('sha256');
            const gitBlob = createHash('sha1').update(`blob ${info.size}\0`);
            createReadStream(path)
              .on('data', (c) => {
                sha256.update(c);
                gitBlob.update(c);
              })
              .on('end', () => resolve({ sha256: sha256.digest('hex'), gitBlob: gitBlob.digest('hex') }))
              .on('error', reject);
          }),
      );
      hashes.set(path, p);
    }
    return p;
  };

  const fault = (file: string): Fault => {
    let f = faults.get(file);
    if (!f) faults.set(file, (f = { cutTimes: 0, statusTimes: 0 }));
    return f;
  };

  /** Serves one file's bytes with the faults set for it; false when an injected status was sent instead. */
  const serveBytes = async (req: IncomingMessage, res: ServerResponse, path: string, file: string, headers: Record<string, string>): Promise<void> => {
    const f = faults.get(file);
    if (f?.status !== undefined && f.statusTimes > 0) {
      f.statusTimes--;
      res.writeHead(f.status, { ...cors(), ...(f.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(f.retryAfterSeconds) }) });
      res.end();
      return;
    }
    const size = (await stat(path)).size;
    const cut = f && f.cutTimes > 0 && f.cutAfterBytes !== undefined ? f.cutAfterBytes : undefined;
    if (cut !== undefined && f) f.cutTimes--;
    sendFile(req, res, path, {
      sizeBytes: Math.min(size, f?.truncateTo ?? size),
      honourRanges: state.honourRanges,
      headers: { ...cors(), ...headers },
      ...(cut === undefined ? {} : { cutAfterBytes: cut, cutMode: f?.cutMode ?? 'close' }),
      onBytes: (n) => served.set(file, (served.get(file) ?? 0) + n),
    });
  };

  const error = (res: ServerResponse, status: number, code: string, message: string): void => {
    res.writeHead(status, { ...cors(), 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message });
    res.end(JSON.stringify({ error: message }));
  };

  const preflight = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'OPTIONS') return false;
    if (options.cors === false) {
      res.writeHead(204);
      res.end();
      return true;
    }
    res.writeHead(204, { ...cors(), 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Authorization, Range, Content-Type', 'Access-Control-Max-Age': '600' });
    res.end();
    return true;
  };

  const record = (origin: 'hub' | 'cdn', req: IncomingMessage, path: string): void => {
    requests.push({ origin, method: req.method ?? 'GET', path, range: req.headers.range, authorization: req.headers.authorization });
  };

  /** The repository and commit a request may see, or an error already sent. */
  const open = (req: IncomingMessage, res: ServerResponse, repoId: string, rev: string | undefined, download: boolean): { repo: HubServerRepo; sha: string; dir: string } | null => {
    const repo = repos.get(repoId);
    const auth = req.headers.authorization;
    if (!repo || (repo.access?.kind === 'private' && auth !== `Bearer ${repo.access.token}`)) {
      error(res, auth ? 404 : 401, 'RepoNotFound', 'Repository not found');
      return null;
    }
    if (download && repo.access?.kind === 'gated' && auth !== `Bearer ${repo.access.token}`) {
      error(res, auth ? 403 : 401, 'GatedRepo', 'Access to this model is restricted: accept the conditions on its page');
      return null;
    }
    const wanted = rev ?? 'main';
    const sha = repo.refs[wanted] ?? (wanted in repo.commits ? wanted : undefined);
    const dir = sha === undefined ? undefined : repo.commits[sha];
    if (sha === undefined || dir === undefined) {
      error(res, 404, 'RevisionNotFound', 'Invalid rev id');
      return null;
    }
    return { repo, sha, dir };
  };

  const api = async (req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> => {
    const [, , org, name, revisionWord, ...rev] = segments;
    if (org === undefined || name === undefined || (revisionWord !== undefined && revisionWord !== 'revision')) return error(res, 404, 'NotFound', 'Not found');
    const commit = open(req, res, `${org}/${name}`, revisionWord ? rev.join('/') : undefined, false);
    if (!commit) return;
    const siblings = [];
    for (const file of (await readdir(commit.dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
      const rfilename = relative(commit.dir, join(file.parentPath, file.name)).split(sep).join('/');
      const path = join(commit.dir, rfilename);
      const size = (await stat(path)).size;
      const { sha256, gitBlob } = await hashesOf(path);
      siblings.push({ rfilename, size, blobId: gitBlob, ...(LFS_FILE.test(rfilename) ? { lfs: { sha256, size, pointerSize: 134 } } : {}) });
    }
    res.writeHead(200, { ...cors(), 'Content-Type': 'application/json' });
    const { access } = commit.repo;
    const body = { _id: commit.sha.slice(0, 24), id: `${org}/${name}`, modelId: `${org}/${name}`, sha: commit.sha, private: access?.kind === 'private', gated: access?.kind === 'gated' ? 'auto' : false, siblings };
    res.end(JSON.stringify(body));
  };

  const resolve = async (req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> => {
    const [org, name, , rev, ...rest] = segments;
    const commit = open(req, res, `${org}/${name}`, rev, true);
    if (!commit) return;
    const file = rest.join('/');
    const root = resolvePath(commit.dir);
    const path = resolvePath(root, file);
    // Only files inside the commit's folder (a %2F-encoded ../ must not escape it).
    const inside = path.startsWith(`${root}${sep}`);
    const info = inside ? await stat(path).catch(() => null) : null;
    if (!info?.isFile()) return error(res, 404, 'EntryNotFound', `${file} does not exist on "${rev}"`);
    const { sha256, gitBlob } = await hashesOf(path);
    if (LFS_FILE.test(file)) {
      cdnFiles.set(sha256, { path, file });
      const location = `${cdnUrl}/cdn/${sha256}?expires=${state.cdnGeneration}`;
      res.writeHead(302, { ...cors(), Location: location, 'X-Repo-Commit': commit.sha, 'X-Linked-Etag': `"${sha256}"`, 'X-Linked-Size': info.size, 'Content-Type': 'text/plain' });
      res.end(`Found. Redirecting to ${location}`);
      return;
    }
    await serveBytes(req, res, path, file, { ETag: `"${gitBlob}"`, 'X-Repo-Commit': commit.sha });
  };

  const hub = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    record('hub', req, url.pathname);
    if (preflight(req, res)) return;
    let segments: string[];
    try {
      segments = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
    } catch {
      return error(res, 400, 'BadRequest', 'Malformed path');
    }
    const handled = segments[0] === 'api' && segments[1] === 'models' ? api(req, res, segments) : segments[2] === 'resolve' ? resolve(req, res, segments) : null;
    if (!handled) return error(res, 404, 'NotFound', 'Not found');
    handled.catch(() => res.destroy());
  });

  const cdn = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cdn');
    record('cdn', req, url.pathname);
    if (preflight(req, res)) return;
    const hash = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const entry = hash === undefined ? undefined : cdnFiles.get(hash);
    if (!entry || !hash) {
      res.writeHead(404, cors());
      res.end();
      return;
    }
    if (url.searchParams.get('expires') !== String(state.cdnGeneration)) {
      res.writeHead(403, cors());
      res.end('Request has expired');
      return;
    }
    serveBytes(req, res, entry.path, entry.file, { ETag: `"${hash}"` }).catch(() => res.destroy());
  });

  const listen = (server: Server): Promise<string> =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  const hubUrl = await listen(hub);
  const cdnUrl = await listen(cdn);
  const close = (server: Server): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  return {
    url: hubUrl,
    cdnUrl,
    get honourRanges() {
      return state.honourRanges;
    },
    set honourRanges(v: boolean) {
      state.honourRanges = v;
    },
    expireCdnUrls() {
      state.cdnGeneration++;
    },
    setRef(repoId, ref, sha) {
      const repo = repos.get(repoId);
      if (!repo || !(sha in repo.commits)) throw new Error(`hub-server: no commit ${sha} in ${repoId}`);
      repo.refs[ref] = sha;
    },
    cutConnection(file, afterBytes, o = {}) {
      Object.assign(fault(file), { cutAfterBytes: afterBytes, cutTimes: o.times ?? 1, cutMode: 'close' });
    },
    stallConnection(file, afterBytes, o = {}) {
      Object.assign(fault(file), { cutAfterBytes: afterBytes, cutTimes: o.times ?? 1, cutMode: 'stall' });
    },
    truncate(file, sizeBytes) {
      fault(file).truncateTo = sizeBytes;
    },
    failWith(file, status, o = {}) {
      Object.assign(fault(file), { status, statusTimes: o.times ?? 1, retryAfterSeconds: o.retryAfterSeconds });
    },
    clearFaults() {
      faults.clear();
    },
    bytesServed: (file) => served.get(file) ?? 0,
    requests,
    resetCounts() {
      served.clear();
      requests.length = 0;
    },
    close: async () => {
      await Promise.all([close(hub), close(cdn)]);
    },
  };
}
