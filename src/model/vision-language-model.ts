/**
 * The contract between the generation loop (src/generate) and the model runtime (src/model): what one
 * loaded Sarashina2-Vision package can do on the GPU. Implemented by `SarashinaModel`.
 *
 * The returned promises resolve once the GPU work is queued, not when it is done: buffers they hand back are valid
 * for later GPU work in queue order; timing a call needs `device.queue.onSubmittedWorkDone()` (or a readback).
 *
 * Positions are plain 1-D (image tokens included). The KV cache holds `contextTokens` positions; the
 * caller (the generator) decides what is already cached and asks to prefill only the rest.
 */
import type { PrecisionVariant } from '../protocol/api';
import type { PackageManifest } from '../protocol/manifest';
import type { ModelSpec } from '../protocol/model-spec';
import type { PatchGrid } from '../processor/vision-rotary';

/** Preprocessed pixels of one or more images, as src/processor/image/preprocess-images.ts builds them. */
export interface ImagePixels {
  /** [patches, C·T·P·P] f32, all images concatenated, merge-window order. */
  readonly pixelValues: Float32Array;
  readonly grids: readonly PatchGrid[];
}

/**
 * Image features on the GPU: [rows, hiddenSize], one row per merged 2×2 patch group, images in order; f32, or f16
 * for q4f16 packages (whose vision graphs and decoder rows are f16; see VisionFeatures.dtype).
 */
export interface ImageFeatures {
  readonly buffer: GPUBuffer;
  readonly rows: number;
  /** Rows of each image, in order (sum = rows). */
  readonly rowsPerImage: readonly number[];
  /** Frees the buffer (the feature cache owns cached features; see ImageFeatureCache). */
  release(): void;
}

/** Where image features go in a prefill: `length` rows starting at `featureRow`, placed at prompt offset `start`. */
export interface FeatureSpan {
  /** Offset in the prefilled ids (0 = the first id of this prefill call). */
  readonly start: number;
  readonly length: number;
  readonly features: ImageFeatures;
  /** First row of `features` to use. */
  readonly featureRow: number;
}

export type VisionPath = 'kernels' | 'ort-baseline';
export type DecodePath = 'kernels' | 'ort-baseline';

export interface VisionLanguageModel {
  readonly manifest: PackageManifest;
  readonly spec: ModelSpec;
  readonly precision: PrecisionVariant;
  /** KV-cache capacity in tokens. */
  readonly contextTokens: number;

  /** Runs the vision tower + projector. */
  encodeImages(images: ImagePixels): Promise<ImageFeatures>;

  /**
   * Embeds `ids` (image features written into the spans' rows), writes their keys/values into the KV cache at
   * positions [startPosition, startPosition + ids.length), and returns the logits of the LAST position:
   * a GPU buffer of `vocabSize` f32, valid until the next prefill/decode call.
   */
  prefill(ids: Int32Array, startPosition: number, spans: readonly FeatureSpan[]): Promise<GPUBuffer>;

  /**
   * One decode step: the token whose id is in `tokenBuffer` (u32 at offset 0, e.g. the sampler's output — it
   * never goes through the CPU) at `position`; returns the logits buffer as prefill does.
   */
  decode(tokenBuffer: GPUBuffer, position: number): Promise<GPUBuffer>;

  /** Frees every GPU buffer and session. */
  dispose(): Promise<void>;
}
