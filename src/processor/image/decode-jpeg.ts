import { decode } from 'jpeg-js';
import { SarashinaError } from '../../protocol/errors';
import type { DecodedImage } from './decoded-image';
import { exifOrientation, orientImage } from './exif-orientation';
import { MAX_INPUT_PIXELS } from './preprocess-images';

/** True when `bytes` starts with a JPEG start-of-image marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Decodes a baseline or progressive JPEG to 8-bit RGB (jpeg-js, pure JS) and turns it upright by its
 * EXIF orientation. Its IDCT and chroma upsampling are not libjpeg-turbo's, so pixels may differ from
 * Pillow's by a few levels (measured in decode-image-node.test.ts). `index` names the image in errors.
 */
export function decodeJpeg(bytes: Uint8Array, index: number): DecodedImage {
  try {
    const out = decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: Math.ceil(MAX_INPUT_PIXELS / 1e6),
      maxMemoryUsageInMB: 2048,
    }) as { width: number; height: number; data: Uint8Array; exifBuffer?: Uint8Array };
    const image: DecodedImage = { width: out.width, height: out.height, channels: 3, bitDepth: 8, data: out.data };
    return orientImage(image, exifOrientation(out.exifBuffer));
  } catch (e) {
    throw new SarashinaError('invalid-request', `image ${index}: the JPEG could not be decoded (${e instanceof Error ? e.message : String(e)}). Check that the file is complete.`, {
      index,
      format: 'jpeg',
    });
  }
}
