/** What differs between the browser and Node when creating an engine, and the model-runtime loader. */
import type { GpuContext } from '../gpu/gpu-context';
import type { PackageChooser } from '../loader/open-model';
import type { PackageSource } from '../protocol/package-source';
import type { PackagePlan } from '../model/package-plan';
import type { VisionLanguageModel } from '../model/vision-language-model';
import type { EngineOptions, LoadProgress } from '../protocol/api';
import type { PackageManifest } from '../protocol/manifest';
import type { ImageDecoder } from './image-input';

/** Where the package comes from and how images are decoded: differs between the browser and Node. */
export interface EnginePlatform {
  /**
   * The package of the model at `options.model`: its manifest, parsed once, and a source for its files (after any
   * download, reported through options.onProgress). The model's variant index, when it has one, goes to
   * `chooser.chooseVariant` and the chosen (or only) package's manifest to `chooser.checkManifest`, both before
   * anything large is downloaded, so a model this GPU cannot run costs nothing (openModel).
   */
  openSource(options: EngineOptions, chooser: PackageChooser): Promise<OpenedPackage>;
  readonly decodeImage: ImageDecoder;
  /** The WebGPU entry point when it is not `navigator.gpu` (Node: Dawn). */
  gpu?(): Promise<GPU>;
}

export interface OpenedPackage {
  readonly manifest: PackageManifest;
  readonly source: PackageSource;
}

export interface ModelLoadOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: LoadProgress) => void;
}

/** Loads the model runtime of a package (default: SarashinaModel.load). */
export type ModelLoader = (context: GpuContext, source: PackageSource, plan: PackagePlan, options: ModelLoadOptions) => Promise<VisionLanguageModel>;
