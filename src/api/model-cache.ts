/**
 * The browser's model cache as users see it: which packages are stored (OPFS) with their sizes, and deleting
 * one. Works on the page or in a worker; the engine itself fills the cache when it loads a package.
 */
import { OpfsStore } from '../loader/opfs-store';
import type { StoredModel } from '../loader/model-store';
import { parseVariantIndex, VARIANT_INDEX_FILE_NAME } from '../protocol/variant-index';
import { modelIdForUrl, readCopy } from './browser-platform';
import { CHECKPOINT_REFS_ID, deleteConvertedModel, isHubModel } from './checkpoint-model';

export type { StoredModel };

/** Every cached package: its id (derived from its URL; one per variant of a model with several), bytes stored and file count. */
export async function listCachedModels(): Promise<StoredModel[]> {
  // The checkpoint references (model string → converted package) are bookkeeping, not a model.
  return (await new OpfsStore().list()).filter((m) => m.modelId !== CHECKPOINT_REFS_ID);
}

/**
 * Deletes a cached package, by its id (from listCachedModels) or by the URL it was loaded from. For the URL of a
 * model with several variants, every variant its kept variants.json lists goes too; for a checkpoint (a Hub id or
 * URL, a checkpoint folder's URL), the package converted from it last.
 */
export async function deleteCachedModel(idOrUrl: string): Promise<void> {
  const converted = await deleteConvertedModel(new OpfsStore(), idOrUrl);
  if (converted && isHubModel(idOrUrl)) return;
  const isUrl = /^[a-z]+:\/\//i.test(idOrUrl);
  const base = isUrl ? (idOrUrl.endsWith('/') ? idOrUrl : `${idOrUrl}/`) : null;
  const id = base ? modelIdForUrl(base) : idOrUrl;
  const store = new OpfsStore();
  const index = base ? await readCopy(store, id, VARIANT_INDEX_FILE_NAME) : null;
  if (base && index) {
    for (const v of parseVariantIndex(JSON.parse(new TextDecoder().decode(index)) as unknown).variants) await store.deleteModel(modelIdForUrl(new URL(`${v.path}/`, base).href));
  }
  await store.deleteModel(id);
}
