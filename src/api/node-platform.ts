/**
 * The Node engine platform (CLI, tests): the model is a local directory (a package, or variants.json and one
 * folder per variant), images are decoded by the JS PNG/JPEG decoders, WebGPU is Dawn. Browser bundles never
 * import this file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

export function nodePlatform(): EnginePlatform {
  return {
    openSource: async (options, chooser) => {
      const root = options.model;
      const dir = (folder: string | null): string => (folder === null ? root : join(root, folder));
      const { variant, manifest } = await openModel(
        {
          location: root,
          readIndex: () => readIfPresent(join(root, VARIANT_INDEX_FILE_NAME)),
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
export function createNodeEngine(options: Omit<CreateEngineOptions, 'platform'>): Promise<LocalEngine> {
  return createEngine({ ...options, platform: nodePlatform() });
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
