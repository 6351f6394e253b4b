import { SarashinaError } from '../../protocol/errors';
import type { ImageProcessorSpec } from '../../protocol/model-spec';
import type { PatchGrid } from '../vision-rotary';
import { validateDecodedImage, type DecodedImage } from './decoded-image';
import { resizeFloatBicubic } from './float-bicubic-resize';
import { patchRowLength, writeFloatPatches, writePatches } from './patchify';
import { pixelLookup } from './pixel-lookup';
import { resizeRgb } from './resize';
import { smartResize } from './smart-resize';
import { toRgb8 } from './to-rgb';

/** Pillow refuses images over 2 × MAX_IMAGE_PIXELS (a decompression bomb); so do we. */
export const MAX_INPUT_PIXELS = 2 * 89_478_485;

export interface PreprocessOptions {
  /** Run-time pixel budget per image (output height · width); may only lower the spec's maxPixels. */
  readonly maxPixels?: number;
}

export interface PreprocessedImages {
  /** [Σ patches, 3 · temporalPatchSize · patchSize²] row-major float32, images concatenated in order. */
  readonly pixelValues: Float32Array;
  /** Per image: {t: 1, h, w} in patches (transformers' image_grid_thw). */
  readonly grids: PatchGrid[];
  /** Per image: how many `<|file|>` tokens it becomes, t · h · w / mergeSize². */
  readonly tokenCounts: number[];
}

export interface ImagePlan {
  /** Size after smart_resize, in pixels. */
  readonly resizedHeight: number;
  readonly resizedWidth: number;
  readonly grid: PatchGrid;
  readonly tokenCount: number;
}

/**
 * Where an image of `height`×`width` px ends up: resized size, patch grid and token count, without
 * touching pixels (what transformers' get_number_of_image_patches answers). Throws `invalid-request`
 * for sizes smart_resize refuses and for a bad run-time budget.
 */
export function planImage(height: number, width: number, spec: ImageProcessorSpec, options: PreprocessOptions = {}): ImagePlan {
  const factor = spec.patchSize * spec.mergeSize;
  const maxPixels = effectiveMaxPixels(spec, options);
  let resized: { height: number; width: number };
  if (spec.doResize) {
    resized = smartResize(height, width, { factor, minPixels: spec.minPixels, maxPixels });
  } else {
    if (height % factor !== 0 || width % factor !== 0) {
      throw new SarashinaError(
        'invalid-request',
        `Image of ${width}×${height} px cannot be used as is: with resizing off (do_resize false) both sides must be multiples of ${factor}.`,
        { width, height, factor },
      );
    }
    resized = { height, width };
  }
  const grid: PatchGrid = { t: 1, h: resized.height / spec.patchSize, w: resized.width / spec.patchSize };
  return {
    resizedHeight: resized.height,
    resizedWidth: resized.width,
    grid,
    tokenCount: (grid.t * grid.h * grid.w) / (spec.mergeSize * spec.mergeSize),
  };
}

function effectiveMaxPixels(spec: ImageProcessorSpec, options: PreprocessOptions): number {
  const requested = options.maxPixels;
  if (requested === undefined) return spec.maxPixels;
  const floor = Math.max(spec.minPixels, (spec.patchSize * spec.mergeSize) ** 2);
  if (!Number.isInteger(requested) || requested < floor || requested > spec.maxPixels) {
    throw new SarashinaError(
      'invalid-request',
      `maxPixels ${requested} is out of range: it must be an integer from ${floor} (the processor's minimum) to ${spec.maxPixels} (the model's limit).`,
      { field: 'maxPixels', actual: requested, min: floor, max: spec.maxPixels },
    );
  }
  return requested;
}

/**
 * Turns decoded images into the vision tower's inputs exactly as the checkpoint's image processor does
 * (spec.pipeline). 'qwen2-vl', transformers' Qwen2-VL PIL processor: convert to RGB (alpha dropped),
 * smart_resize, Pillow resize of the uint8 image, rescale and normalize in float32, repeat the frame
 * temporalPatchSize times, flatten in merge-window order. 'sarashina2.2': convert to RGB, rescale and normalize
 * in float32 first, then torch's float bicubic resize (float-bicubic-resize.ts), then the same patches.
 * Bad images throw `invalid-request` naming the image's index; huge ones `image-too-large`.
 */
export function preprocessImages(images: readonly DecodedImage[], spec: ImageProcessorSpec, options: PreprocessOptions = {}): PreprocessedImages {
  const plans = images.map((image, index) => {
    validateDecodedImage(image, index);
    if (image.width * image.height > MAX_INPUT_PIXELS) {
      throw new SarashinaError(
        'image-too-large',
        `image ${index}: ${image.width}×${image.height} px is over the ${MAX_INPUT_PIXELS}-pixel limit. Downscale it before sending.`,
        { index, width: image.width, height: image.height, maxPixels: MAX_INPUT_PIXELS },
      );
    }
    try {
      return planImage(image.height, image.width, spec, options);
    } catch (e) {
      if (e instanceof SarashinaError) throw new SarashinaError(e.code, `image ${index}: ${e.message}`, { ...e.details, index });
      throw e;
    }
  });
  const rowLen = patchRowLength(spec);
  const totalRows = plans.reduce((n, p) => n + p.grid.t * p.grid.h * p.grid.w, 0);
  const pixelValues = new Float32Array(totalRows * rowLen);
  const lookup = pixelLookup(spec);
  let row = 0;
  images.forEach((image, index) => {
    const plan = plans[index];
    if (!plan) return;
    if (spec.pipeline === 'sarashina2.2') {
      const normalized = normalizeRgb(toRgb8(image), lookup);
      const resized = resizeFloatBicubic(normalized, image.width, image.height, 3, plan.resizedWidth, plan.resizedHeight);
      row += writeFloatPatches(resized, plan.resizedWidth, plan.resizedHeight, spec, pixelValues, row);
      return;
    }
    const rgb = resizeRgb(toRgb8(image), plan.resizedWidth, plan.resizedHeight, spec.resample);
    row += writePatches(rgb, spec, lookup, pixelValues, row);
  });
  return { pixelValues, grids: plans.map((p) => p.grid), tokenCounts: plans.map((p) => p.tokenCount) };
}

/** The RGB bytes rescaled and normalized to float32 (pixelLookup's values), height × width × 3 interleaved. */
function normalizeRgb(rgb: ReturnType<typeof toRgb8>, lookup: Float32Array): Float32Array {
  const out = new Float32Array(rgb.width * rgb.height * 3);
  let o = 0;
  for (let i = 0; i < rgb.width * rgb.height; i++) {
    const s = i * rgb.stride;
    for (let c = 0; c < 3; c++) out[o++] = lookup[c * 256 + (rgb.data[s + c] ?? 0)] ?? 0;
  }
  return out;
}
