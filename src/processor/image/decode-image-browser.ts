import { SarashinaError } from '../../protocol/errors';
import type { DecodedImage } from './decoded-image';
import { decodeGrey16Png, isGrey16Png } from './decode-png-grey16';

/**
 * Decodes an image in a browser or worker with the platform decoder and returns 8-bit RGBA.
 *
 * createImageBitmap turns it upright by EXIF orientation (as Pillow's exif_transpose), with no colour-space
 * conversion and no premultiplied alpha. The pixels are then read back through WebGL2 with
 * premultiplication off, which returns the stored bytes exactly, so colour under transparent pixels
 * survives as with Pillow. Where WebGL2 is missing (or the image exceeds its texture size) a 2D canvas is
 * used instead; a 2D canvas stores premultiplied alpha, so there colour under partly or fully
 * transparent pixels can differ from Pillow's. 16-bit colour PNGs arrive reduced to their high byte,
 * as Pillow reads them; 16-bit grey PNGs, which Pillow clips instead, are decoded here (decode-png-grey16).
 *
 * Undecodable data throws `invalid-request` naming `index`.
 */
export async function decodeImageBlob(blob: Blob, index: number): Promise<DecodedImage> {
  if (isGrey16Png(new Uint8Array(await blob.slice(0, 26).arrayBuffer()))) {
    try {
      const grey = await decodeGrey16Png(new Uint8Array(await blob.arrayBuffer()));
      if (grey) return grey;
    } catch (e) {
      throw new SarashinaError('invalid-request', `image ${index}: the 16-bit PNG could not be decoded (${e instanceof Error ? e.message : String(e)}). Check that the file is complete.`, {
        index,
        format: 'png',
      });
    }
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new SarashinaError(
      'invalid-request',
      `image ${index}: the browser could not decode it (${e instanceof Error ? e.message : String(e)}; type "${blob.type || 'unknown'}", ${blob.size} bytes). Send a PNG, JPEG, WebP or GIF.`,
      { index, type: blob.type, sizeBytes: blob.size },
    );
  }
  try {
    const { width, height } = bitmap;
    const data = readWithWebGl(bitmap) ?? readWithCanvas2d(bitmap);
    return { width, height, channels: 4, bitDepth: 8, data };
  } finally {
    bitmap.close();
  }
}

/** Exact RGBA bytes of `bitmap` via a WebGL2 texture and readPixels; null when WebGL2 cannot do it. */
function readWithWebGl(bitmap: ImageBitmap): Uint8Array | null {
  const { width, height } = bitmap;
  if (typeof OffscreenCanvas === 'undefined') return null;
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2', { premultipliedAlpha: false, antialias: false });
  if (!gl) return null;
  try {
    const maxSize = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    if (width > maxSize || height > maxSize) return null;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return null;
    const out = new Uint8Array(width * height * 4);
    gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
    // Row 0 of the texture is the image's top row (no flip on upload), so rows come back top first.
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out);
    const ok = gl.getError() === gl.NO_ERROR;
    gl.deleteFramebuffer(framebuffer);
    gl.deleteTexture(texture);
    return ok ? out : null;
  } finally {
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

function readWithCanvas2d(bitmap: ImageBitmap): Uint8ClampedArray {
  const { width, height } = bitmap;
  const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!context) throw new SarashinaError('internal', 'No 2D context on OffscreenCanvas to read the decoded image; this browser cannot decode images in a worker.', {});
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, width, height).data;
}
