/**
 * createEngine({ model: <original checkpoint> }): a Hugging Face checkpoint (a Hub repository at a revision, or an
 * http(s) / local folder with config.json and model*.safetensors) converted on this machine into a ModelStore (OPFS
 * in the browser, the cache directory in Node) and loaded from there like a downloaded package:
 *
 *   1. the checkpoint's config.json and preprocessor_config.json are read, and the variant is chosen from the
 *      weight plans of q4f16 / q4f32 (chooser.chooseVariant with an estimated index) before anything large moves;
 *   2. the package's store id is derived from the checkpoint, its revision (a Hub commit sha) and the precision: a
 *      complete package there is opened without converting; otherwise convertCheckpoint writes it (resumable: a
 *      conversion cut short continues at the shard in progress; verified; complete only at the end);
 *   3. a small reference file maps the model string to that id, so the next load finds the package offline.
 */
import { type CheckpointHeader, convertCheckpoint, readCheckpointHeader } from '../convert/convert-checkpoint';
import type { CheckpointSource } from '../convert/checkpoint-source';
import { isHubModel } from '../convert/checkpoint-location';

export { isHubModel };
import { CONVERTED_PRECISIONS, estimatedVariantIndex } from '../convert/checkpoint-variants';
import { type IncrementalHash, isStoredPackageComplete, StoreSink } from '../convert/store-sink';
import type { ModelStore } from '../loader/model-store';
import type { PackageChooser } from '../loader/open-model';
import { StoreSource } from '../loader/package-source';
import type { EngineOptions } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, parseManifest } from '../protocol/manifest';
import type { OpenedPackage } from './engine-platform';

/** The store id holding the model-string → converted-package references (one small JSON file per model string). */
export const CHECKPOINT_REFS_ID = 'checkpoint-refs';

export interface CheckpointModelDeps {
  readonly store: ModelStore;
  /** node:crypto's hash in Node (faster than the pure-JS default). */
  readonly newHash?: () => IncrementalHash;
}

/** A safe store folder name from free text (no slashes, ≤ 120 characters). */
function storeName(text: string): string {
  return text.replace(/^[a-z]+:\/\//i, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|[._]+$/g, '').slice(-120) || 'model';
}

/** The store id of `source` converted to `precision`: the checkpoint, its revision and the precision. */
export function convertedModelId(source: CheckpointSource, precision: string): string {
  return `converted_${storeName(source.description)}_${source.revision ? source.revision.slice(0, 40) : 'folder'}_${precision}`;
}

function refPath(options: EngineOptions): string {
  return `${storeName(`${options.model}@${options.revision ?? ''}`)}.json`;
}

/** A network failure (not an answer from the server): the model may still be in the store. */
export function isOffline(e: unknown): boolean {
  if (e instanceof TypeError) return true;
  return e instanceof SarashinaError && e.code === 'download-failed' && (e.details as { status?: unknown } | undefined)?.status === undefined;
}

/**
 * The package converted from a checkpoint earlier for this model string (the reference file), when complete; null
 * otherwise. Used when the checkpoint cannot be reached (offline).
 */
export async function openConvertedOffline(options: EngineOptions, chooser: PackageChooser, deps: CheckpointModelDeps): Promise<OpenedPackage | null> {
  const { store } = deps;
  if ((await store.size(CHECKPOINT_REFS_ID, refPath(options))) === 0) return null;
  const ref = JSON.parse(new TextDecoder().decode(await new StoreSource(store, CHECKPOINT_REFS_ID).readBytes(refPath(options)))) as { modelId?: unknown };
  if (typeof ref.modelId !== 'string' || !(await isStoredPackageComplete(store, ref.modelId))) return null;
  return openStored(store, ref.modelId, chooser);
}

/**
 * Opens the checkpoint `open()` returns: chooses the variant, converts into the store unless a complete package of
 * this checkpoint, revision and precision is there, and returns the stored package. Offline (the checkpoint cannot
 * be reached), the package last converted for this model string.
 */
export async function openCheckpointModel(options: EngineOptions, chooser: PackageChooser, deps: CheckpointModelDeps, open: () => Promise<CheckpointSource>): Promise<OpenedPackage> {
  const { store, newHash } = deps;
  let source: CheckpointSource;
  let header: CheckpointHeader;
  try {
    source = await open();
    header = await readCheckpointHeader(source, options.signal ? { signal: options.signal } : {});
  } catch (e) {
    if (isOffline(e)) {
      const cached = await openConvertedOffline(options, chooser, deps);
      if (cached) return cached;
    }
    throw e;
  }
  const precisions = options.precision && !CONVERTED_PRECISIONS.includes(options.precision) ? [...CONVERTED_PRECISIONS, options.precision] : CONVERTED_PRECISIONS;
  const entry = chooser.chooseVariant(estimatedVariantIndex(header, precisions), true);
  const modelId = convertedModelId(source, entry.precision);
  if (!(await isStoredPackageComplete(store, modelId))) {
    const onProgress = options.onProgress;
    const result = await convertCheckpoint(source, new StoreSink(store, modelId, newHash ? { newHash } : {}), {
      precision: entry.precision,
      resumable: true,
      ...(options.checkpointShardBytes === undefined ? {} : { maxShardBytes: options.checkpointShardBytes }),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(onProgress
        ? {
            onProgress: (p) =>
              onProgress({
                phase: 'convert',
                loadedBytes: p.doneBytes,
                totalBytes: p.totalBytes,
                filesDone: p.tensorsDone,
                filesTotal: p.tensorsTotal,
                bytesPerSecond: p.bytesPerSecond,
                etaSeconds: p.etaSeconds,
                downloadedBytes: p.readBytes,
              }),
          }
        : {}),
    });
    if (result.manifest.precision !== entry.precision) throw new SarashinaError('internal', `Converted ${result.manifest.precision}, not the chosen ${entry.precision}.`);
  }
  const writer = await store.append(CHECKPOINT_REFS_ID, refPath(options), { truncate: true });
  try {
    await writer.write(new TextEncoder().encode(JSON.stringify({ modelId, model: options.model, revision: source.revision ?? null })));
  } finally {
    await writer.close();
  }
  return openStored(store, modelId, chooser);
}

/**
 * Deletes the package converted for the model string `model` (as createEngine was given it, without a revision
 * option) and its reference. Returns whether there was one.
 */
export async function deleteConvertedModel(store: ModelStore, model: string): Promise<boolean> {
  const path = refPath({ model });
  if ((await store.size(CHECKPOINT_REFS_ID, path)) === 0) return false;
  const ref = JSON.parse(new TextDecoder().decode(await new StoreSource(store, CHECKPOINT_REFS_ID).readBytes(path))) as { modelId?: unknown };
  if (typeof ref.modelId === 'string') await store.deleteModel(ref.modelId);
  await store.discard(CHECKPOINT_REFS_ID, path);
  return true;
}

async function openStored(store: ModelStore, modelId: string, chooser: PackageChooser): Promise<OpenedPackage> {
  const source = new StoreSource(store, modelId);
  const manifestBytes = await source.readBytes(MANIFEST_FILE_NAME);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (cause) {
    throw new SarashinaError('invalid-model', `The converted package ${modelId} has a damaged manifest.json. Delete it (deleteCachedModel) and load again.`, { modelId }, { cause });
  }
  const manifest = parseManifest(json);
  chooser.checkManifest(manifest);
  return { manifest, source };
}
