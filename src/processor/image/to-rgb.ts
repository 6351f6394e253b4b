import type { DecodedImage, RgbImage } from './decoded-image';

/**
 * Converts a decoded image to 8-bit RGB exactly as Pillow's `Image.convert('RGB')` does, which is
 * what transformers' `convert_to_rgb` (5.x) and `load_image` call:
 *
 * - alpha is dropped, not composited (colour under alpha 0 stays as it is);
 * - grey is replicated to R = G = B;
 * - 16-bit grey (Pillow mode `I;16`) is clipped: values above 255 become 255 (Pillow's I;16 → RGB);
 * - 16-bit grey+alpha, RGB and RGBA are opened by Pillow as 8-bit LA/RGB/RGBA from the high byte
 *   of each sample, so those keep `value >> 8`.
 *
 * Verified against Pillow 12.3 by the fixtures of export/reference/processor_image.py.
 */
export function toRgb8(image: DecodedImage): RgbImage {
  const { width, height, channels, bitDepth, data } = image;
  const pixels = width * height;
  // 8-bit RGB and RGBA are already what the resampler reads: no copy (it never writes to its input).
  if (bitDepth === 8 && (channels === 3 || channels === 4) && !(data instanceof Uint16Array)) {
    return { width, height, stride: channels, data };
  }
  const out = new Uint8Array(pixels * 3);
  const greyClip = bitDepth === 16 && channels === 1;
  const shift = bitDepth === 16 && !greyClip ? 8 : 0;
  if (channels <= 2) {
    for (let p = 0, s = 0, o = 0; p < pixels; p++, s += channels, o += 3) {
      const raw = data[s] ?? 0;
      const v = greyClip ? (raw > 255 ? 255 : raw) : raw >> shift;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else {
    for (let p = 0, s = 0, o = 0; p < pixels; p++, s += channels, o += 3) {
      out[o] = (data[s] ?? 0) >> shift;
      out[o + 1] = (data[s + 1] ?? 0) >> shift;
      out[o + 2] = (data[s + 2] ?? 0) >> shift;
    }
  }
  return { width, height, stride: 3, data: out };
}
