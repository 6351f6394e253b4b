/**
 * The browser's model cache as users see it: which packages are stored (OPFS) with their sizes, and deleting
 * one. Works on the page or in a worker; the engine itself fills the cache when it loads a package.
 */
import { OpfsStore } from '../loader/opfs-store';
import type { StoredModel } from '../loader/model-store';
import { modelIdForUrl } from './browser-platform';

export type { StoredModel };

/** Every cached package: its id (derived from its URL), bytes stored and file count. */
export function listCachedModels(): Promise<StoredModel[]> {
  return new OpfsStore().list();
}

/** Deletes a cached package, by its id (from listCachedModels) or by the URL it was loaded from. */
export async function deleteCachedModel(idOrUrl: string): Promise<void> {
  const id = /^[a-z]+:\/\//i.test(idOrUrl) ? modelIdForUrl(idOrUrl.endsWith('/') ? idOrUrl : `${idOrUrl}/`) : idOrUrl;
  await new OpfsStore().deleteModel(id);
}
