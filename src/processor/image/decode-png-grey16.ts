import type { DecodedImage } from './decoded-image';

/**
 * True when `head` (the first 26+ bytes of a file) is a PNG of 16-bit greyscale (colour type 0, depth 16):
 * the one PNG kind browsers cannot hand back the way Pillow reads it (they keep the high byte; Pillow
 * opens it as I;16 and clips to 255 when converting to RGB, which needs the full value).
 */
export function isGrey16Png(head: Uint8Array): boolean {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return signature.every((b, i) => head[i] === b) && head[24] === 16 && head[25] === 0;
}

/**
 * Decodes a non-interlaced 16-bit greyscale PNG with the platform's zlib (DecompressionStream, in
 * browsers, workers and Node ≥ 18) into 1 channel of 16-bit samples. Returns null for any other PNG kind
 * or for interlaced files (the caller then uses the platform decoder); throws on corrupt data.
 */
export async function decodeGrey16Png(bytes: Uint8Array): Promise<DecodedImage | null> {
  if (!isGrey16Png(bytes)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (bytes[28] !== 0) return null; // Adam7
  const idat: Uint8Array<ArrayBuffer>[] = [];
  for (let offset = 8; offset + 12 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (type === 'IDAT') idat.push(bytes.slice(offset + 8, offset + 8 + length));
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  const stream = new Blob(idat).stream().pipeThrough(new DecompressionStream('deflate'));
  const raw = new Uint8Array(await new Response(stream).arrayBuffer());
  const rowBytes = width * 2;
  if (raw.length < height * (rowBytes + 1)) throw new Error(`PNG data too short: ${raw.length} bytes for ${width}×${height}`);
  const data = new Uint16Array(width * height);
  let previous = new Uint8Array(rowBytes);
  let current = new Uint8Array(rowBytes);
  for (let y = 0; y < height; y++) {
    const base = y * (rowBytes + 1);
    unfilterRow(raw[base] ?? 0, raw.subarray(base + 1, base + 1 + rowBytes), previous, current, 2);
    for (let x = 0; x < width; x++) data[y * width + x] = ((current[2 * x] ?? 0) << 8) | (current[2 * x + 1] ?? 0);
    [previous, current] = [current, previous];
  }
  return { width, height, channels: 1, bitDepth: 16, data };
}

/** PNG row filters (None, Sub, Up, Average, Paeth) undone into `out`; `bpp` is bytes per pixel. */
function unfilterRow(filter: number, row: Uint8Array, above: Uint8Array, out: Uint8Array, bpp: number): void {
  for (let i = 0; i < row.length; i++) {
    const left = i >= bpp ? (out[i - bpp] ?? 0) : 0;
    const up = above[i] ?? 0;
    const upLeft = i >= bpp ? (above[i - bpp] ?? 0) : 0;
    let predictor = 0;
    if (filter === 1) predictor = left;
    else if (filter === 2) predictor = up;
    else if (filter === 3) predictor = (left + up) >> 1;
    else if (filter === 4) {
      const p = left + up - upLeft;
      const pa = Math.abs(p - left);
      const pb = Math.abs(p - up);
      const pc = Math.abs(p - upLeft);
      predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    } else if (filter !== 0) throw new Error(`unknown PNG filter type ${filter}`);
    out[i] = ((row[i] ?? 0) + predictor) & 255;
  }
}
