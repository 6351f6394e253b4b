import { describe, expect, it } from 'vitest';
import type { DecodedImage } from './decoded-image';
import { exifOrientation, orientImage } from './exif-orientation';

/** A TIFF block with one IFD entry: Orientation (0x0112, SHORT, count 1) = value. */
function tiff(value: number, little: boolean, padding: boolean): Uint8Array {
  const bytes = new Uint8Array((padding ? 1 : 0) + 8 + 2 + 12 + 4);
  const base = padding ? 1 : 0;
  const view = new DataView(bytes.buffer);
  bytes.set(little ? [0x49, 0x49] : [0x4d, 0x4d], base);
  view.setUint16(base + 2, 42, little);
  view.setUint32(base + 4, 8, little);
  view.setUint16(base + 8, 1, little);
  view.setUint16(base + 10, 0x0112, little);
  view.setUint16(base + 12, 3, little);
  view.setUint32(base + 14, 1, little);
  view.setUint16(base + 18, value, little);
  return bytes;
}

describe('exifOrientation', () => {
  it('reads the Orientation tag in both byte orders, with or without the Exif padding byte', () => {
    expect(exifOrientation(tiff(6, true, false))).toBe(6);
    expect(exifOrientation(tiff(8, false, true))).toBe(8);
    expect(exifOrientation(tiff(3, false, false))).toBe(3);
  });

  it('falls back to 1 for missing, truncated or out-of-range data', () => {
    expect(exifOrientation(undefined)).toBe(1);
    expect(exifOrientation(tiff(6, true, false).subarray(0, 12))).toBe(1);
    expect(exifOrientation(tiff(9, true, false))).toBe(1);
    expect(exifOrientation(new Uint8Array(16))).toBe(1);
  });
});

describe('orientImage', () => {
  // 3 wide × 2 high, one grey channel: pixel value = 10·row + column.
  //   0  1  2
  //  10 11 12
  const image: DecodedImage = { width: 3, height: 2, channels: 1, bitDepth: 8, data: Uint8Array.from([0, 1, 2, 10, 11, 12]) };
  const rows = (img: DecodedImage) => Array.from({ length: img.height }, (_, y) => Array.from(img.data.subarray(y * img.width, (y + 1) * img.width)));

  it('turns each of the 8 EXIF orientations upright (ImageOps.exif_transpose semantics)', () => {
    expect(rows(orientImage(image, 1))).toEqual([[0, 1, 2], [10, 11, 12]]);
    expect(rows(orientImage(image, 2))).toEqual([[2, 1, 0], [12, 11, 10]]); // mirror
    expect(rows(orientImage(image, 3))).toEqual([[12, 11, 10], [2, 1, 0]]); // 180°
    expect(rows(orientImage(image, 4))).toEqual([[10, 11, 12], [0, 1, 2]]); // flip
    expect(rows(orientImage(image, 5))).toEqual([[0, 10], [1, 11], [2, 12]]); // transpose
    expect(rows(orientImage(image, 6))).toEqual([[10, 0], [11, 1], [12, 2]]); // 90° clockwise
    expect(rows(orientImage(image, 7))).toEqual([[12, 2], [11, 1], [10, 0]]); // transverse
    expect(rows(orientImage(image, 8))).toEqual([[2, 12], [1, 11], [0, 10]]); // 90° counter-clockwise
  });

  it('keeps channels and bit depth', () => {
    const rgb16: DecodedImage = { width: 2, height: 1, channels: 3, bitDepth: 16, data: Uint16Array.from([1, 2, 3, 4000, 5000, 6000]) };
    const out = orientImage(rgb16, 6);
    expect([out.width, out.height, out.channels, out.bitDepth]).toEqual([1, 2, 3, 16]);
    expect(Array.from(out.data)).toEqual([1, 2, 3, 4000, 5000, 6000]);
  });
});
