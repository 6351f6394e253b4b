/**
 * Content keys of decoded images, for the image-feature cache and prefix reuse. Taken before preprocessing,
 * so a cached image skips resizing and patchifying as well as the vision tower.
 */
import type { DecodedImage } from '../processor/image/decoded-image';

/**
 * SHA-256 (WebCrypto, available in pages, workers and Node ≥ 20) of the image's layout and samples, plus the size
 * it is resized to (`planImage`): with one model's processor, those two decide the features. Keyed by the size
 * rather than the pixel budget, so the same picture at two budgets that give one size shares its features, and one
 * shrunk to fit the context (context-fit.ts) never shares them with its full-size encoding.
 */
export async function decodedImageKey(image: DecodedImage, resized: { readonly width: number; readonly height: number }): Promise<string> {
  const header = new TextEncoder().encode(`${image.width}x${image.height}x${image.channels}@${image.bitDepth};resized=${resized.width}x${resized.height};`);
  const bytes = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const all = new Uint8Array(header.length + bytes.length);
  all.set(header, 0);
  all.set(bytes, header.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
