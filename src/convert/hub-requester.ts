/**
 * The HTTP half of the Hub source: one repository on one endpoint. Every request carries the token only when it goes
 * to the endpoint's origin; every failure becomes a typed SarashinaError (the Hub's `X-Error-Code` header —
 * RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo — when CORS lets us see it, the status otherwise); a
 * transient one (network error, 408/429/5xx, a body cut short or stalled) is retried with exponential backoff first.
 */

import { SarashinaError } from '../protocol/errors';
import type { ByteSource } from './checkpoint-source';
import { readBodySlice } from './response-slice';

/**
 * Retries: huggingface_hub's http_backoff makes 6 tries with waits of 1 s doubling to 8 s (23 s in all); ours default
 * to 4 tries from 500 ms (3.5 s), since a conversion that fails resumes at the shard it was writing and the tests of a
 * persistent fault wait out the whole schedule.
 */
export interface HubRetryOptions {
  /** Tries per request before 'download-failed' (default 4). */
  readonly attempts?: number;
  /** Wait before the 2nd try, doubled for each later one (default 500 ms)… */
  readonly baseDelayMs?: number;
  /** …up to this (default 8000 ms). */
  readonly maxDelayMs?: number;
  /** A response that sends no byte for this long is dropped and retried (default 30 s). */
  readonly stallTimeoutMs?: number;
}

export interface HubRequesterOptions {
  readonly endpoint: string;
  readonly repoId: string;
  /** The revision asked for (a branch, tag or sha), for messages. */
  readonly revision: string;
  readonly token?: string | undefined;
  readonly fetchImpl?: typeof fetch | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly retry?: HubRetryOptions | undefined;
}

/** A failure worth another try; becomes 'download-failed' when the tries run out. */
class TransientFailure extends Error {
  /** The server's Retry-After (429/503), when it sent one we can see. */
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The longest Retry-After honoured before the next try (a longer one is cut to this). */
const MAX_RETRY_AFTER_MS = 60_000;

/** The CDN refused an address it gave earlier (signed URLs expire): read through the Hub again. */
class CdnAddressExpired extends Error {}

export class HubRequester {
  readonly endpoint: string;
  private readonly origin: string;
  private readonly repoId: string;
  private readonly revision: string;
  private readonly authorization: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly signal: AbortSignal | undefined;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stallTimeoutMs: number;
  /**
   * Per file URL: the first ETag seen (every later read must match), and where the Hub's redirect led (its CDN, another
   * origin): later reads go there directly — one request instead of two, no token — as huggingface_hub downloads from
   * the Location. That signed address expires; then the Hub again.
   */
  private readonly files = new Map<string, { etag?: string; direct?: string | undefined }>();

  constructor(options: HubRequesterOptions) {
    this.endpoint = options.endpoint;
    this.origin = new URL(options.endpoint).origin;
    this.repoId = options.repoId;
    this.revision = options.revision;
    // Kept only as the header value, in a private field: never in a message, a description or details.
    this.authorization = options.token ? `Bearer ${options.token}` : undefined;
    this.fetchImpl = options.fetchImpl ?? ((input, init) => fetch(input, init));
    this.signal = options.signal;
    this.attempts = Math.max(1, options.retry?.attempts ?? 4);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 500;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 8000;
    this.stallTimeoutMs = options.retry?.stallTimeoutMs ?? 30_000;
  }

  /** GET `path` on the endpoint as JSON. A 404 says whether the repository or the revision is missing. */
  async getJson(path: string, what: string): Promise<object> {
    const url = `${this.endpoint}${path}`;
    const text = await this.retrying(what, undefined, () =>
      this.attempt(url, undefined, undefined, async (response, tick) => {
        if (response.status === 404 && !response.headers.get('x-error-code')) {
          await response.body?.cancel();
          throw await this.missingRepoOrRevision();
        }
        await this.checkStatus(response, what);
        return new TextDecoder().decode(await readAll(response, tick));
      }),
    );
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) return parsed;
    } catch {
      // reported below
    }
    throw new SarashinaError('download-failed', `${url} did not answer JSON: ${this.endpoint} does not look like a Hugging Face Hub. Check the endpoint.`, { url });
  }

  /** A whole small file; null when `absentOk` and the Hub says it is not there. */
  async getFile(url: string, name: string, options: { sizeBytes: number | undefined; absentOk: boolean; commit: string; signal?: AbortSignal | undefined }): Promise<Uint8Array | null> {
    const what = `${this.repoId}/${name}`;
    return this.retrying(what, options.signal, () =>
      this.attempt(url, undefined, options.signal, async (response, tick) => {
        if (options.absentOk && response.status === 404) {
          await response.body?.cancel();
          return null;
        }
        await this.checkStatus(response, what, name);
        checkCommit(response, options.commit, what);
        const expected = options.sizeBytes ?? contentLength(response);
        const bytes = await readAll(response, tick, expected);
        if (expected !== undefined && bytes.byteLength < expected) throw new TransientFailure(`the response ended after ${bytes.byteLength} of ${expected} bytes`);
        if (expected !== undefined && bytes.byteLength > expected) throw sizeMismatch(what, `sent more than the ${expected} bytes the commit lists`);
        return bytes;
      }),
    );
  }

  /** The size of a file the listing did not give, from a one-byte range request. */
  async probeSize(url: string, name: string, signal?: AbortSignal): Promise<number> {
    const what = `${this.repoId}/${name}`;
    return this.retrying(what, signal, () =>
      this.attempt(url, 'bytes=0-0', signal, async (response) => {
        await this.checkStatus(response, what, name);
        await response.body?.cancel();
        const total = response.status === 206 ? parseContentRange(response.headers.get('content-range'))?.total : contentLength(response);
        if (total === undefined) {
          throw new SarashinaError('download-failed', `${what}: the server gave no file size (Content-Range not sent or not exposed to this page by CORS). Use an endpoint whose API lists file sizes.`, { file: name });
        }
        return total;
      }),
    );
  }

  /** Random access to one file by range requests, checked against `sizeBytes` (the commit's listing). */
  rangeSource(url: string, name: string, sizeBytes: number): ByteSource {
    let state = this.files.get(url);
    if (!state) this.files.set(url, (state = {}));
    const file = state;
    const read = async (offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> => {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > sizeBytes) {
        throw new SarashinaError('invalid-model', `${name}: wanted ${length} bytes at offset ${offset} but the file is ${sizeBytes} bytes. The checkpoint's header points past its end; it is damaged.`, {
          file: name,
          offset,
          length,
          sizeBytes,
        });
      }
      if (length === 0) return new Uint8Array(0);
      const once = (target: string | undefined): Promise<Uint8Array> =>
        this.attempt(target ?? url, `bytes=${offset}-${offset + length - 1}`, signal, async (response, tick) => {
          if (target !== undefined && [401, 403, 404, 410].includes(response.status)) {
            await response.body?.cancel();
            throw new CdnAddressExpired();
          }
          if (response.status === 416) {
            await response.body?.cancel();
            throw sizeMismatch(name, `refused bytes ${offset}-${offset + length - 1} as past its end (HTTP 416), though the commit lists ${sizeBytes} bytes`);
          }
          await this.checkStatus(response, name, name);
          const tag = response.headers.get('etag')?.replace(/^W\//, '');
          if (tag) {
            file.etag ??= tag;
            if (tag !== file.etag) throw new SarashinaError('integrity-mismatch', `${name} changed between two reads (ETag ${file.etag}, then ${tag}). Start the download again.`, { file: name });
          }
          let skip = 0;
          if (response.status === 206) {
            const range = parseContentRange(response.headers.get('content-range'));
            if (range && range.total !== sizeBytes) throw sizeMismatch(name, `is ${range.total} bytes on the server, not the ${sizeBytes} the commit lists`);
            if (range && (range.start !== offset || range.end !== offset + length - 1)) {
              throw new SarashinaError('download-failed', `${name}: asked for bytes ${offset}-${offset + length - 1}, the server sent ${range.start}-${range.end}. Check the server or proxy.`, { file: name });
            }
            const sent = contentLength(response);
            if (sent !== undefined && sent !== length) throw sizeMismatch(name, `sent ${sent} bytes for a ${length}-byte range: its copy is shorter than the ${sizeBytes} bytes the commit lists`);
          } else {
            // 200: the server ignored the Range header and sends the whole file; keep only the slice.
            const whole = contentLength(response);
            if (whole !== undefined && whole !== sizeBytes) throw sizeMismatch(name, `is ${whole} bytes on the server, not the ${sizeBytes} the commit lists`);
            skip = offset;
          }
          const bytes = await readBodySlice(response, skip, length, tick);
          if (bytes === null) throw new TransientFailure(`the response for bytes ${offset}-${offset + length - 1} ended early`);
          if (target === undefined && response.redirected && URL.canParse(response.url) && new URL(response.url).origin !== this.origin) file.direct = response.url;
          return bytes;
        });
      return this.retrying(name, signal, () =>
        once(file.direct).catch((e: unknown) => {
          if (!(e instanceof CdnAddressExpired)) throw e;
          file.direct = undefined;
          return once(undefined);
        }),
      );
    };
    return { name, sizeBytes, read };
  }

  private headers(url: string, range: string | undefined): Record<string, string> {
    const headers: Record<string, string> = {};
    if (range) headers.Range = range;
    if (this.authorization && new URL(url).origin === this.origin) headers.Authorization = this.authorization;
    return headers;
  }

  /** Tries `run` until it succeeds, fails for good, or the tries run out; waits between tries. */
  private async retrying<T>(what: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    let last = '';
    let retryAfterMs = 0;
    for (let i = 0; i < this.attempts; i++) {
      if (i > 0) await this.sleep(Math.max(Math.min(this.baseDelayMs * 2 ** (i - 1), this.maxDelayMs), retryAfterMs), what, signal);
      this.throwIfAborted(what, signal);
      try {
        return await run();
      } catch (e) {
        if (!(e instanceof TransientFailure)) throw e;
        last = e.message;
        retryAfterMs = Math.min(e.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
      }
    }
    throw new SarashinaError('download-failed', `${what}: ${last} (${this.attempts} tries). Check your connection and try again; what was converted so far is kept.`, {
      repo: this.repoId,
      attempts: this.attempts,
    });
  }

  /** One request: fetch, then `consume` the response (it reads the body, calling `tick` as bytes arrive). */
  private async attempt<T>(url: string, range: string | undefined, callSignal: AbortSignal | undefined, consume: (response: Response, tick: () => void) => Promise<T>): Promise<T> {
    const stall = new AbortController();
    const signal = AbortSignal.any([stall.signal, ...(this.signal ? [this.signal] : []), ...(callSignal ? [callSignal] : [])]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), this.stallTimeoutMs);
    };
    tick();
    let answered = false;
    try {
      const response = await this.fetchImpl(url, { headers: this.headers(url, range), signal });
      answered = true;
      return await consume(response, tick);
    } catch (e) {
      if (e instanceof SarashinaError || e instanceof TransientFailure || e instanceof CdnAddressExpired) throw e;
      this.throwIfAborted(url, callSignal);
      if (stall.signal.aborted) throw new TransientFailure(`no data for ${this.stallTimeoutMs / 1000} s`);
      if (answered) throw new TransientFailure(`the connection was cut while reading (${String(e)})`);
      const hint = new URL(url).origin === this.origin ? '; for a gated or private model, also check the token and that its account accepted the license' : '';
      throw new TransientFailure(`could not reach ${new URL(url).origin}: a network error, or a CORS refusal if this page is on another origin${hint} (${String(e)})`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** 2xx passes; 408/429/5xx are transient; 401/403/404 become typed errors that say what to do. */
  private async checkStatus(response: Response, what: string, file?: string): Promise<void> {
    const status = response.status;
    if (status === 200 || status === 206) return;
    await response.body?.cancel();
    if (status === 408 || status === 429 || status >= 500) throw new TransientFailure(`HTTP ${status}${status === 429 ? ' (rate limited)' : ''}`, retryAfter(response));
    const code = response.headers.get('x-error-code');
    const page = `${this.endpoint}/${this.repoId}`;
    const details = { repo: this.repoId, status, ...(file ? { file } : {}) };
    if (code === 'RevisionNotFound') throw this.revisionMissing();
    // The Hub answers 401 for a private repository and for one that does not exist alike when no token is sent.
    if (status === 401 || status === 403 || code === 'GatedRepo') {
      const action = this.authorization
        ? `The token was refused: check that it is valid and can read this repository, and that its account accepted the license on ${page}.`
        : `Check the org/name spelling; for a private or gated model pass a Hugging Face access token (the token option) and accept the license on ${page}.`;
      throw new SarashinaError('download-failed', `${what}: the Hub refused access (HTTP ${status}${code ? ` ${code}` : ''}): ${this.repoId} is private or gated, or does not exist. ${action}`, {
        ...details,
        reason: 'unauthorized',
      });
    }
    if (code === 'RepoNotFound') throw this.repoMissing();
    if (status === 404 && file) {
      throw new SarashinaError('invalid-model', `${what}: the Hub has no such file at this revision (HTTP 404). Check that the repository is a complete checkpoint.`, { ...details, reason: 'file-not-found' });
    }
    throw new SarashinaError('download-failed', `${what}: the Hub answered HTTP ${status}${code ? ` (${code})` : ''}. Check the model id and revision.`, details);
  }

  /** A 404 without X-Error-Code (hidden by CORS, or another server): the repository's own page tells which is missing. */
  private async missingRepoOrRevision(): Promise<SarashinaError> {
    const exists = await this.attempt(`${this.endpoint}/api/models/${this.repoId}`, undefined, undefined, async (response) => {
      await response.body?.cancel();
      return response.ok;
    }).catch(() => false);
    return exists ? this.revisionMissing() : this.repoMissing();
  }

  private repoMissing(): SarashinaError {
    return new SarashinaError(
      'invalid-request',
      `The Hub has no model repository ${this.repoId} (HTTP 404 at ${this.endpoint}). Check the org/name spelling; ${this.authorization ? 'if it is private, check that the token can read it' : 'a private repository needs a token'}.`,
      { repo: this.repoId, reason: 'repo-not-found' },
    );
  }

  private revisionMissing(): SarashinaError {
    return new SarashinaError(
      'invalid-request',
      `${this.repoId} has no revision ${JSON.stringify(this.revision)} (HTTP 404). Check the branch, tag or commit on ${this.endpoint}/${this.repoId}/tree/main, or leave the revision out for main.`,
      { repo: this.repoId, reason: 'revision-not-found', revision: this.revision },
    );
  }

  private throwIfAborted(what: string, callSignal: AbortSignal | undefined): void {
    if (this.signal?.aborted || callSignal?.aborted) throw new SarashinaError('aborted', `Reading ${what} from the Hub was cancelled.`, { repo: this.repoId });
  }

  private async sleep(ms: number, what: string, callSignal: AbortSignal | undefined): Promise<void> {
    const signals = [this.signal, callSignal].filter((s): s is AbortSignal => s !== undefined);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const s of signals) s.addEventListener('abort', done, { once: true });
    });
    this.throwIfAborted(what, callSignal);
  }
}

function sizeMismatch(what: string, how: string): SarashinaError {
  return new SarashinaError('integrity-mismatch', `${what} ${how}: the file on the server is truncated or not the commit's. Try again later, or report it to the repository's owner.`, { file: what });
}

/** A response for a pinned commit that names another commit (X-Repo-Commit, when visible) is not the pinned file. */
function checkCommit(response: Response, commit: string, what: string): void {
  const named = response.headers.get('x-repo-commit');
  if (named && named !== commit) throw new SarashinaError('integrity-mismatch', `${what} came from commit ${named}, not the pinned ${commit}. Start again.`, { file: what, commit });
}

/** Retry-After in ms: delay-seconds or an HTTP date. */
function retryAfter(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function contentLength(response: Response): number | undefined {
  const value = response.headers.get('content-length');
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

function parseContentRange(value: string | null): { start: number; end: number; total: number } | undefined {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value.trim()) : null;
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : undefined;
}

/** The whole body; stops reading once it holds more than `limit` bytes (a wrong file is not read to its end). */
async function readAll(response: Response, tick: () => void, limit?: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      tick();
      chunks.push(value);
      total += value.byteLength;
      if (limit !== undefined && total > limit) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
