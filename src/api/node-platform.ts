/**
 * The Node engine platform (CLI, tests): the model is a local directory (a package, or variants.json and one
 * folder per variant, or an original checkpoint), an http(s) URL (as in the browser) or a Hub id; packages
 * converted from checkpoints and downloaded ones are kept in the cache directory (NodeFsStore). Images are decoded
 * by the JS PNG/JPEG decoders, WebGPU is Dawn. Browser bundles never import this file.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { openDirectoryCheckpoint } from '../convert/node-checkpoint-source';
import { isUrl } from '../convert/http-folder-source';
import { NodeFsStore } from '../loader/node-fs-store';
import { openHubModel, openRemoteModel, type RemoteModelDeps } from './browser-platform';
import { isHubModel, openCheckpointModel } from './checkpoint-model';
import { installNodeWebGpu } from '../gpu/node-webgpu';
import { NodeDirSource } from '../loader/node-dir-source';
import { openModel } from '../loader/open-model';
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME } from '../protocol/manifest';
import { VARIANT_INDEX_FILE_NAME } from '../protocol/variant-index';
import { decodeImageBytes } from '../processor/image/decode-image-node';
import { createEngine, type CreateEngineOptions } from './create-engine';
import type { EnginePlatform } from './engine-platform';
import type { ImageData } from './image-input';
import type { LocalEngine } from './local-engine';

export interface NodePlatformOptions {
  /** Where converted and downloaded packages are kept (default $SARASHINA_CACHE_DIR, else ~/.cache/sarashina-webgpu). */
  readonly cacheDir?: string;
  /** Opens a Hub checkpoint (Hub ids and URLs); default openHubCheckpoint. */
  readonly openHub?: RemoteModelDeps['openHub'];
}

/** The cache directory converted and downloaded packages go to in Node. */
export function defaultCacheDir(): string {
  return process.env['SARASHINA_CACHE_DIR'] ?? join(homedir(), '.cache', 'sarashina-webgpu');
}

const nodeHash = (): { update(b: Uint8Array): unknown; digestHex(): string } => {
  const h = createHash('sha256');
  return { update: (b) => h.update(b), digestHex: () => h.digest('hex') };
};

export function nodePlatform(platformOptions: NodePlatformOptions = {}): EnginePlatform {
  const store = (): NodeFsStore => new NodeFsStore(platformOptions.cacheDir ?? defaultCacheDir());
  return {
    openSource: async (options, chooser) => {
      const root = options.model;
      const local = !isUrl(root) && (await isDirectory(root));
      if (!local && (isUrl(root) || isHubModel(root, options.hubEndpoint))) {
        return openRemoteModel(options, chooser, { store: store(), openHub: platformOptions.openHub ?? openHubModel, newHash: nodeHash });
      }
      const dir = (folder: string | null): string => (folder === null ? root : join(root, folder));
      const index = await readIfPresent(join(root, VARIANT_INDEX_FILE_NAME));
      if (local && !index && !(await readIfPresent(join(root, MANIFEST_FILE_NAME))) && (await readIfPresent(join(root, 'config.json')))) {
        // An original checkpoint: converted into the cache once, then loaded from there.
        return openCheckpointModel(options, chooser, { store: store(), newHash: nodeHash }, () => Promise.resolve(openDirectoryCheckpoint(root)));
      }
      const { variant, manifest } = await openModel(
        {
          location: root,
          readIndex: () => Promise.resolve(index),
          readManifest: (folder) => new NodeDirSource(dir(folder)).readBytes(MANIFEST_FILE_NAME),
        },
        chooser,
      );
      return { manifest, source: new NodeDirSource(dir(variant ? variant.path : null)) };
    },
    decodeImage: decodeNodeImage,
    gpu: () => installNodeWebGpu(),
  };
}

/** createEngine with `model` a local directory: a package (manifest.json) or a model's variants (variants.json). */
export function createNodeEngine(options: Omit<CreateEngineOptions, 'platform'> & NodePlatformOptions): Promise<LocalEngine> {
  const { cacheDir, openHub, ...rest } = options;
  return createEngine({ ...rest, platform: nodePlatform({ ...(cacheDir === undefined ? {} : { cacheDir }), ...(openHub ? { openHub } : {}) }) });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function decodeNodeImage(image: ImageData, index: number): Promise<ReturnType<typeof decodeImageBytes>> {
  if (!(image instanceof Blob)) {
    throw new SarashinaError('invalid-request', `image ${index}: ImageBitmap is not available in Node; pass the file's bytes as a Blob or a data: URL.`, { index });
  }
  return decodeImageBytes(new Uint8Array(await image.arrayBuffer()), index);
}

/** A file's bytes, or null when it does not exist. */
async function readIfPresent(path: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SarashinaError('invalid-model', `Cannot read ${path}: ${String(cause)}.`, { path }, { cause });
  }
}
