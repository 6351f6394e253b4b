// e2e page: the Hub source (src/convert/hub-source.ts) in the browser, reading a Hub-layout server on other origins.
import { openHubCheckpoint } from '../../src/convert/hub-source';
import { SarashinaError } from '../../src/protocol/errors';

export interface HubReadRequest {
  readonly model: string;
  readonly endpoint: string;
  readonly token?: string;
  /** Small files read whole. */
  readonly files: readonly string[];
  /** Slices of large files read by range. */
  readonly ranges: readonly { readonly file: string; readonly offset: number; readonly length: number }[];
}

export interface HubReadResult {
  readonly revision: string | null;
  /** sha256 hex of each file / `file@offset+length` slice read, null for a file the commit lacks. */
  readonly digests: Record<string, string | null>;
  readonly code: string | null;
  readonly reason: string | null;
  readonly message: string | null;
}

declare global {
  interface Window {
    hubRead: (request: HubReadRequest) => Promise<HubReadResult>;
  }
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

window.hubRead = async (request) => {
  const digests: Record<string, string | null> = {};
  let revision: string | null = null;
  try {
    const source = await openHubCheckpoint(request.model, { endpoint: request.endpoint, ...(request.token ? { token: request.token } : {}), retry: { attempts: 2, baseDelayMs: 10 } });
    revision = source.revision ?? null;
    for (const file of request.files) {
      const bytes = await source.readFile(file);
      digests[file] = bytes ? await sha256(bytes) : null;
    }
    for (const { file, offset, length } of request.ranges) {
      digests[`${file}@${offset}+${length}`] = await sha256(await (await source.openFile(file)).read(offset, length));
    }
    return { revision, digests, code: null, reason: null, message: null };
  } catch (e) {
    if (!(e instanceof SarashinaError)) return { revision, digests, code: `not a SarashinaError: ${String(e)}`, reason: null, message: null };
    return { revision, digests, code: e.code, reason: typeof e.details.reason === 'string' ? e.details.reason : null, message: e.message };
  }
};
