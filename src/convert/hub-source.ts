/**
 * A Hugging Face Hub repository as a CheckpointSource. The revision (a branch, tag or sha) is resolved once, through
 * `GET /api/models/<org>/<name>/revision/<rev>?blobs=true` (huggingface_hub's `model_info(files_metadata=True)`:
 * JSON with the commit `sha` and `siblings[]` = { rfilename, size, lfs?: { sha256, size } }), and every later file
 * is read from `<endpoint>/<org>/<name>/resolve/<sha>/<file>`, so a branch that moves mid-download is never mixed.
 *
 * The API answers in JSON, so a browser on another origin reads the sha and sizes without relying on response
 * headers CORS may hide (X-Repo-Commit, X-Linked-Size, Content-Range, ETag are visible only when exposed). The Hub
 * answers a *.safetensors resolve with a 302 to its CDN; fetch follows it keeping the Range header, and the Fetch
 * standard (browsers and Node's undici alike) drops Authorization when a redirect leaves the origin — the token goes
 * only to the endpoint's own origin, as huggingface_hub does (it pops `authorization` for a CDN on another host).
 * Later reads of the same file go straight to the CDN address the redirect led to, until it expires.
 *
 * Each request is retried on a network error, HTTP 408/429/5xx, a stalled or cut body; what comes back is checked
 * against the commit's listing (size; the ETag stays the same across a file's reads), and never fewer bytes than asked.
 */

import { SarashinaError } from '../protocol/errors';
import type { ByteSource, CheckpointSource } from './checkpoint-source';
import { HubRequester, type HubRetryOptions } from './hub-requester';
import { DEFAULT_HUB_ENDPOINT, normalizeEndpoint, parseHubModel } from './hub-model-ref';

export interface HubCheckpointOptions {
  /** Branch, tag or commit; overrides none in `model` (both given and different is an error). Default 'main'. */
  readonly revision?: string;
  /** A Hub access token for a private or gated repository: sent only to the endpoint's origin, never kept. */
  readonly token?: string;
  /** Default https://huggingface.co. */
  readonly endpoint?: string;
  readonly fetchImpl?: typeof fetch;
  /** Aborts the opening and every later request of this source. */
  readonly signal?: AbortSignal;
  readonly retry?: HubRetryOptions;
}

interface ListedFile {
  readonly sizeBytes: number | undefined;
}

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/**
 * Opens `model` (org/name, org/name@rev or a Hub URL) at its revision: one API request, which fails with a typed
 * error when the repository or revision does not exist, is private without a token, or cannot be reached. A gated
 * repository lists its files to anyone: its refusal (401/403, 'download-failed' with reason 'unauthorized') comes with
 * the first file read.
 */
export async function openHubCheckpoint(model: string, options: HubCheckpointOptions = {}): Promise<CheckpointSource> {
  const endpoint = normalizeEndpoint(options.endpoint ?? DEFAULT_HUB_ENDPOINT);
  const ref = parseHubModel(model, endpoint);
  if (ref.revision !== undefined && options.revision !== undefined && ref.revision !== options.revision) {
    throw new SarashinaError('invalid-request', `${JSON.stringify(model)} names revision ${ref.revision} but options.revision is ${options.revision}. Give the revision once.`, {
      model,
      revision: options.revision,
    });
  }
  const revision = ref.revision ?? options.revision ?? 'main';
  const requester = new HubRequester({ endpoint, repoId: ref.repoId, revision, token: options.token, fetchImpl: options.fetchImpl, signal: options.signal, retry: options.retry });
  const info = await requester.getJson(`/api/models/${ref.repoId}/revision/${encodeURIComponent(revision)}?blobs=true`, `revision ${revision} of ${ref.repoId}`);
  const sha = typeof info === 'object' && info !== null && 'sha' in info ? info.sha : undefined;
  if (typeof sha !== 'string' || !COMMIT_SHA.test(sha)) {
    throw new SarashinaError('download-failed', `${endpoint} answered the revision query for ${ref.repoId}@${revision} without a commit sha: it does not look like a Hugging Face Hub. Check the endpoint.`, {
      endpoint,
      repo: ref.repoId,
    });
  }
  return new HubCheckpoint(requester, ref.repoId, sha, listedFiles(info));
}

/** The commit's files from the API's `siblings`, or null when the answer has no listing (then 404 means absent). */
function listedFiles(info: object): Map<string, ListedFile> | null {
  const siblings = 'siblings' in info ? info.siblings : undefined;
  if (!Array.isArray(siblings)) return null;
  const files = new Map<string, ListedFile>();
  for (const s of siblings as unknown[]) {
    if (typeof s !== 'object' || s === null || !('rfilename' in s) || typeof s.rfilename !== 'string') continue;
    const lfs = 'lfs' in s && typeof s.lfs === 'object' && s.lfs !== null && 'size' in s.lfs ? s.lfs.size : undefined;
    const size = typeof lfs === 'number' ? lfs : 'size' in s && typeof s.size === 'number' ? s.size : undefined;
    files.set(s.rfilename, { sizeBytes: size });
  }
  return files;
}

class HubCheckpoint implements CheckpointSource {
  readonly description: string;

  constructor(
    private readonly requester: HubRequester,
    private readonly repoId: string,
    readonly revision: string,
    private readonly files: Map<string, ListedFile> | null,
  ) {
    this.description = `${requester.endpoint}/${repoId}@${revision}`;
  }

  private url(name: string): string {
    const path = name.split('/').map(encodeURIComponent).join('/');
    return `${this.requester.endpoint}/${this.repoId}/resolve/${this.revision}/${path}`;
  }

  async readFile(name: string, signal?: AbortSignal): Promise<Uint8Array | null> {
    const listed = this.files?.get(name);
    if (this.files && !listed) return null;
    return this.requester.getFile(this.url(name), name, { sizeBytes: listed?.sizeBytes, absentOk: !this.files, commit: this.revision, signal });
  }

  async openFile(name: string, signal?: AbortSignal): Promise<ByteSource> {
    const listed = this.files?.get(name);
    if (this.files && !listed) {
      throw new SarashinaError('invalid-model', `${this.description} has no file ${name}. Check that the repository is a complete Sarashina2-Vision checkpoint at this revision.`, {
        file: name,
        repo: this.repoId,
        revision: this.revision,
      });
    }
    const url = this.url(name);
    const sizeBytes = listed?.sizeBytes ?? (await this.requester.probeSize(url, name, signal));
    return this.requester.rangeSource(url, `${this.repoId}@${this.revision.slice(0, 12)}/${name}`, sizeBytes);
  }
}
