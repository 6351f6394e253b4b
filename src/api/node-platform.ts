/**
 * The Node engine platform (CLI, tests): the package is a local directory, images are decoded by the JS
 * PNG/JPEG decoders, WebGPU is Dawn. Browser bundles never import this file.
 */
import { installNodeWebGpu } from '../gpu/node-webgpu';
import { NodeDirSource } from '../loader/node-dir-source';
import { SarashinaError } from '../protocol/errors';
import { readManifest } from '../protocol/package-source';
import { decodeImageBytes } from '../processor/image/decode-image-node';
import { createEngine, type CreateEngineOptions } from './create-engine';
import type { EnginePlatform } from './engine-platform';
import type { ImageData } from './image-input';
import type { LocalEngine } from './local-engine';

export function nodePlatform(): EnginePlatform {
  return {
    openSource: async (options, checkManifest) => {
      const source = new NodeDirSource(options.model);
      const manifest = await readManifest(source);
      checkManifest?.(manifest);
      return { manifest, source };
    },
    decodeImage: decodeNodeImage,
    gpu: () => installNodeWebGpu(),
  };
}

/** createEngine with `model` a local package directory. */
export function createNodeEngine(options: Omit<CreateEngineOptions, 'platform'>): Promise<LocalEngine> {
  return createEngine({ ...options, platform: nodePlatform() });
}

async function decodeNodeImage(image: ImageData, index: number): Promise<ReturnType<typeof decodeImageBytes>> {
  if (!(image instanceof Blob)) {
    throw new SarashinaError('invalid-request', `image ${index}: ImageBitmap is not available in Node; pass the file's bytes as a Blob or a data: URL.`, { index });
  }
  return decodeImageBytes(new Uint8Array(await image.arrayBuffer()), index);
}
