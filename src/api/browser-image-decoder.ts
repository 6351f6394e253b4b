/** Image decoding in a page or worker: Blobs through the platform decoder, ImageBitmaps read through a canvas. */
import { SarashinaError } from '../protocol/errors';
import { decodeImageBlob } from '../processor/image/decode-image-browser';
import type { DecodedImage } from '../processor/image/decoded-image';
import type { ImageData } from './image-input';

/**
 * Decodes a Blob as decodeImageBlob does; an ImageBitmap is drawn into a 2D canvas and read back as RGBA
 * (a bitmap has no file to read EXIF or 16-bit samples from; what the caller drew is what the model sees).
 */
export async function decodeBrowserImage(image: ImageData, index: number): Promise<DecodedImage> {
  if (image instanceof Blob) return decodeImageBlob(image, index);
  const { width, height } = image;
  if (width === 0 || height === 0) {
    throw new SarashinaError('invalid-request', `image ${index}: the ImageBitmap is ${width}×${height} (closed or empty). Pass an open, non-empty bitmap.`, {
      index,
      width,
      height,
    });
  }
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  if (!context) throw new SarashinaError('internal', `image ${index}: no 2D canvas context to read the ImageBitmap.`, { index });
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, width, height).data;
  return { width, height, channels: 4, bitDepth: 8, data };
}
