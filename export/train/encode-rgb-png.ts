/** PNG encoding of the dataset's RGB8 pictures (the engine's Node decoder and Pillow both read these). */
import { PNG } from 'pngjs';

/** RGB8 rows (width·height·3 bytes) → PNG bytes (8-bit truecolour, no alpha). */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 9 });
}
