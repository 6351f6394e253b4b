/** What differs between the browser and Node when creating an engine, and the model-runtime loader. */
import type { GpuContext } from '../gpu/gpu-context';
import type { PackageSource } from '../protocol/package-source';
import type { VisionLanguageModel } from '../model/vision-language-model';
import type { EngineOptions, LoadProgress } from '../protocol/api';
import type { PackageManifest } from '../protocol/manifest';
import type { ImageDecoder } from './image-input';

/** Where the package comes from and how images are decoded: differs between the browser and Node. */
export interface EnginePlatform {
  /**
   * A source for `options.model` (after any download, reported through options.onProgress). `checkManifest` runs
   * on the validated manifest before anything large is downloaded, so a package this GPU cannot run costs nothing.
   */
  openSource(options: EngineOptions, checkManifest?: (manifest: PackageManifest) => void): Promise<PackageSource>;
  readonly decodeImage: ImageDecoder;
  /** The WebGPU entry point when it is not `navigator.gpu` (Node: Dawn). */
  gpu?(): Promise<GPU>;
}

export interface ModelLoadOptions {
  readonly contextTokens?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: LoadProgress) => void;
}

/** Loads the model runtime of a package (default: SarashinaModel.load). */
export type ModelLoader = (context: GpuContext, source: PackageSource, options: ModelLoadOptions) => Promise<VisionLanguageModel>;
