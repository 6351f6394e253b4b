import { SarashinaError } from '../../protocol/errors';
import type { DecodedImage } from './decoded-image';
import { decodeJpeg, isJpeg } from './decode-jpeg';
import { decodePng, isPng } from './decode-png';

/**
 * Decodes image file bytes in Node (PNG or JPEG, chosen by the leading bytes, not the file name).
 * Anything else, or a broken file, throws `invalid-request` naming the image's `index`.
 */
export function decodeImageBytes(bytes: Uint8Array, index: number): DecodedImage {
  if (isPng(bytes)) return decodePng(bytes, index);
  if (isJpeg(bytes)) return decodeJpeg(bytes, index);
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new SarashinaError('invalid-request', `image ${index}: unsupported or unreadable format (first bytes ${head || 'none'}). Send a PNG or JPEG file.`, {
    index,
    firstBytes: head,
  });
}
