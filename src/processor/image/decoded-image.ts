import { SarashinaError } from '../../protocol/errors';

/**
 * An image as decoded from its file, before any colour conversion. Samples are interleaved per pixel,
 * rows top to bottom, no row padding: `data.length === width · height · channels`.
 *
 * - `channels`: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (a palette image is expanded to 3 or 4).
 * - `bitDepth`: 8 (`Uint8Array` or `Uint8ClampedArray`, e.g. canvas ImageData) or 16 (`Uint16Array`,
 *   full 0…65535 range). Which 16-bit layout it is matters: Pillow maps 16-bit grey and 16-bit colour to
 *   8 bits differently (see `toRgb8`).
 */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly bitDepth: 8 | 16;
  readonly data: Uint8Array | Uint8ClampedArray | Uint16Array;
}

/**
 * 8-bit RGB pixels, row-major, `stride` bytes per pixel: 3 (packed RGB) or 4 (RGBA whose alpha byte is
 * ignored, so a browser's ImageData is read in place without a conversion pass). What the resampler
 * and the patchifier read.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly stride: 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * Checks that `image` is well-formed (positive integer size, a known layout, a buffer of exactly the
 * right length and type). `index` is the image's position in the request, named in the error.
 */
export function validateDecodedImage(image: DecodedImage, index: number): void {
  const where = `image ${index}`;
  const { width, height, channels, bitDepth, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SarashinaError('invalid-request', `${where}: size ${width}×${height} is not a positive integer size; decode the image again.`, {
      index,
      width,
      height,
    });
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new SarashinaError('invalid-request', `${where}: ${channels} channels; expected 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA).`, {
      index,
      channels,
    });
  }
  const typeOk = bitDepth === 16 ? data instanceof Uint16Array : bitDepth === 8 && !(data instanceof Uint16Array);
  if (!typeOk) {
    throw new SarashinaError('invalid-request', `${where}: bit depth ${bitDepth} with a ${data.constructor.name}; use 8 with Uint8Array or 16 with Uint16Array.`, {
      index,
      bitDepth,
    });
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new SarashinaError('invalid-request', `${where}: ${data.length} samples for ${width}×${height}×${channels} (expected ${expected}); the pixel buffer does not match the size.`, {
      index,
      actual: data.length,
      expected,
    });
  }
}
