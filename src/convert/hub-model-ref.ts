/**
 * Which Hugging Face model repository and revision a `model` string names: `org/name`, `org/name@rev`, or a URL on
 * the Hub (`https://huggingface.co/org/name`, `.../tree/<rev>`, `.../resolve/<rev>/<file>`, `.../blob/<rev>/<file>`).
 * Pure: no request is made here.
 */

import { SarashinaError } from '../protocol/errors';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** The hosts that name the public Hub when the endpoint is the default one. */
const PUBLIC_HUB_HOSTS = ['huggingface.co', 'www.huggingface.co', 'hf.co'];

/** Non-model pages and repository kinds on the Hub: their first path segment is not an organisation. */
const NOT_MODEL_PREFIXES = ['datasets', 'spaces', 'api', 'models', 'docs', 'collections', 'papers'];

/** Sub-paths of a repository page that carry a revision as their next segment. */
const REVISION_PAGES = ['tree', 'resolve', 'blob'];

export interface HubModelRef {
  /** `org/name`. */
  readonly repoId: string;
  /** A branch, tag or commit sha named in the string; undefined when it names none. */
  readonly revision?: string;
}

/**
 * Parses `model` into a repository id and an optional revision. A URL must be on `endpoint`'s origin (or, for the
 * default endpoint, on huggingface.co / hf.co). Anything else is an 'invalid-request' that shows the accepted forms.
 */
export function parseHubModel(model: string, endpoint: string = DEFAULT_HUB_ENDPOINT): HubModelRef {
  const text = model.trim();
  if (/^https?:\/\//i.test(text)) return parseHubUrl(text, endpoint);
  const at = text.indexOf('@');
  const repoId = at < 0 ? text : text.slice(0, at);
  const revision = at < 0 ? undefined : text.slice(at + 1);
  checkRepoId(repoId, model);
  if (revision !== undefined) checkRevision(revision, model);
  return revision === undefined ? { repoId } : { repoId, revision };
}

/** The endpoint without a trailing slash; 'invalid-request' when it is not an http(s) URL. */
export function normalizeEndpoint(endpoint: string): string {
  if (!/^https?:\/\//i.test(endpoint) || !URL.canParse(endpoint)) {
    throw new SarashinaError('invalid-request', `The Hub endpoint ${JSON.stringify(endpoint)} is not an http(s) URL. Leave it out for ${DEFAULT_HUB_ENDPOINT}.`, { endpoint });
  }
  return endpoint.replace(/\/+$/, '');
}

function parseHubUrl(text: string, endpoint: string): HubModelRef {
  const base = new URL(normalizeEndpoint(endpoint));
  if (!URL.canParse(text)) throw notAModel(text, 'it is not a valid URL');
  const url = new URL(text);
  if (url.username || url.password) throw notAModel(text, 'it carries credentials; pass the token in the token option instead');
  const onEndpoint = url.origin === base.origin || (base.origin === DEFAULT_HUB_ENDPOINT && PUBLIC_HUB_HOSTS.includes(url.hostname) && url.protocol === 'https:');
  if (!onEndpoint) throw notAModel(text, `it is not on the Hub endpoint ${base.origin}`);
  // A Hub under a path prefix (a mirror at https://host/hf/) keeps the prefix before org/name.
  const prefix = base.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${prefix}/`)) throw notAModel(text, `its path does not start with the endpoint's ${prefix}/`);
  let segments: string[];
  try {
    segments = url.pathname.slice(prefix.length).split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    throw notAModel(text, 'its path has a malformed %-escape');
  }
  const [org, name, page, revision] = segments;
  if (org === undefined || name === undefined) throw notAModel(text, 'it names no org/name repository');
  if (NOT_MODEL_PREFIXES.includes(org)) throw notAModel(text, `it is a /${org}/ page, not a model repository`);
  const repoId = `${org}/${name}`;
  checkRepoId(repoId, text);
  if (page === undefined) return { repoId };
  if (!REVISION_PAGES.includes(page) || revision === undefined) throw notAModel(text, `/${page}/ is not a repository page that names a revision (tree, resolve or blob)`);
  checkRevision(revision, text);
  return { repoId, revision };
}

/** The Hub's rule for a model id: `org/name`, each part letters, digits, '-', '_', '.', no '--' or '..', ≤ 96. */
function checkRepoId(repoId: string, model: string): void {
  const parts = repoId.split('/');
  const partOk = (p: string): boolean => /^[A-Za-z0-9][\w.-]*$/.test(p) && p.length <= 96 && !p.includes('--') && !p.includes('..') && !p.endsWith('.');
  if (parts.length !== 2 || !parts.every(partOk)) throw notAModel(model, `${JSON.stringify(repoId)} is not an org/name repository id`);
}

function checkRevision(revision: string, model: string): void {
  if (revision === '' || /[\s\\]/.test(revision) || revision.includes('..')) throw notAModel(model, `${JSON.stringify(revision)} is not a branch, tag or commit`);
}

function notAModel(model: string, why: string): SarashinaError {
  // Credentials written into a URL (https://user:token@host/…) never reach a message.
  const shown = model.replace(/^(https?:\/\/)[^/@]*@/i, '$1');
  return new SarashinaError(
    'invalid-request',
    `${JSON.stringify(shown)} does not name a Hugging Face model: ${why}. Pass org/name, org/name@revision or https://huggingface.co/org/name (optionally /tree/<revision>).`,
    { model: shown },
  );
}
