import { SarashinaError } from '../../protocol/errors';
import type { DecodedImage } from './decoded-image';

/**
 * Decodes an image in a browser or worker with the platform decoder: createImageBitmap, upright by
 * EXIF orientation, no colour-space conversion and no premultiplied alpha (so colour under
 * transparent pixels survives, as with Pillow), then read back through an OffscreenCanvas.
 * Returns 8-bit RGBA. 16-bit PNGs arrive already reduced to 8 bits by the browser, which may differ
 * from Pillow's rule by one level (and 16-bit grey is not clipped the way Pillow clips it).
 * Undecodable data throws `invalid-request` naming `index`.
 */
export async function decodeImageBlob(blob: Blob, index: number): Promise<DecodedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new SarashinaError('invalid-request', `image ${index}: the browser could not decode it (${e instanceof Error ? e.message : String(e)}; type "${blob.type || 'unknown'}", ${blob.size} bytes). Send a PNG, JPEG, WebP or GIF.`, {
      index,
      type: blob.type,
      sizeBytes: blob.size,
    });
  }
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('no 2d context on OffscreenCanvas');
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, width, height).data;
    return { width, height, channels: 4, bitDepth: 8, data: pixels };
  } finally {
    bitmap.close();
  }
}
