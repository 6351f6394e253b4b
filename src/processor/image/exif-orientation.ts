import type { DecodedImage } from './decoded-image';

/**
 * The EXIF Orientation tag (1…8) of a TIFF/EXIF block (the APP1 payload after "Exif\0", with or
 * without the second padding byte); 1 when it is absent or unreadable.
 */
export function exifOrientation(exif: Uint8Array | undefined): number {
  if (!exif || exif.length < 8) return 1;
  let base = 0;
  while (base < 2 && !(isByteOrderMark(exif, base))) base++;
  if (!isByteOrderMark(exif, base)) return 1;
  const view = new DataView(exif.buffer, exif.byteOffset, exif.byteLength);
  const little = exif[base] === 0x49;
  if (base + 8 > exif.length) return 1;
  const ifd = base + view.getUint32(base + 4, little);
  if (ifd + 2 > exif.length) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > exif.length) return 1;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function isByteOrderMark(b: Uint8Array, at: number): boolean {
  return (b[at] === 0x49 && b[at + 1] === 0x49) || (b[at] === 0x4d && b[at + 1] === 0x4d);
}

/**
 * The image turned upright for EXIF orientation `orientation`, as Pillow's ImageOps.exif_transpose
 * (which transformers' load_image applies) and the browser's `imageOrientation: 'from-image'` do:
 * 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90°
 * counter-clockwise. Orientation 1 (or anything else) returns the image unchanged.
 */
export function orientImage(image: DecodedImage, orientation: number): DecodedImage {
  if (orientation < 2 || orientation > 8) return image;
  const { width: w, height: h, channels } = image;
  const swap = orientation >= 5;
  const outW = swap ? h : w;
  const outH = swap ? w : h;
  const src = image.data;
  const data = src instanceof Uint16Array ? new Uint16Array(src.length) : new Uint8Array(src.length);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break;
      }
      const s = (sy * w + sx) * channels;
      for (let c = 0; c < channels; c++) data[o++] = src[s + c] ?? 0;
    }
  }
  return { width: outW, height: outH, channels, bitDepth: image.bitDepth, data };
}
