import { SarashinaError } from '../../protocol/errors';

export interface SmartResizeOptions {
  /** Both output sides are multiples of this (patch size · merge size = 28). */
  readonly factor: number;
  /** Lower bound on output height · width, in pixels. */
  readonly minPixels: number;
  /** Upper bound on output height · width, in pixels. */
  readonly maxPixels: number;
}

/** Python's `round()` for a float: ties go to the even neighbour (2.5 → 2, 3.5 → 4). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends ties up; Python sends them to the even one.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Output size (pixels) for an image of `height`×`width` pixels, as Qwen2-VL's `smart_resize`
 * (transformers 5.17): each side rounded to a multiple of `factor` (half-to-even, like Python);
 * if the area exceeds `maxPixels`, both sides shrink by √(area/maxPixels) and are floored to a multiple
 * of `factor` (at least `factor`); if it is below `minPixels`, they grow and are ceiled.
 *
 * Throws `invalid-request` for a side under 10 px (transformers 4.47, which Sarashina2-Vision pins,
 * refuses those; 5.x dropped the check) or an aspect ratio over 200.
 */
export function smartResize(height: number, width: number, options: SmartResizeOptions): { height: number; width: number } {
  const { factor, minPixels, maxPixels } = options;
  if (height < 10 || width < 10) {
    throw new SarashinaError(
      'invalid-request',
      `Image of ${width}×${height} px is too small: both sides must be at least 10 px. Use a larger image.`,
      { width, height, minSide: 10 },
    );
  }
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > 200) {
    throw new SarashinaError(
      'invalid-request',
      `Image of ${width}×${height} px has an aspect ratio of ${ratio.toFixed(1)}, over the limit of 200. Crop or pad it first.`,
      { width, height, aspectRatio: ratio, maxAspectRatio: 200 },
    );
  }
  let hBar = roundHalfEven(height / factor) * factor;
  let wBar = roundHalfEven(width / factor) * factor;
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    hBar = Math.max(factor, Math.floor(height / beta / factor) * factor);
    wBar = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    hBar = Math.ceil((height * beta) / factor) * factor;
    wBar = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: hBar, width: wBar };
}
