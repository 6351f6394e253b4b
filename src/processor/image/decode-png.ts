import { PNG } from 'pngjs';
import { SarashinaError } from '../../protocol/errors';
import type { DecodedImage } from './decoded-image';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` starts with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Decodes a PNG (any bit depth, grey, grey+alpha, palette, RGB, RGBA, interlaced or not) in Node.
 * 16-bit samples are kept as 16-bit (Pillow's 16-bit rules are applied later by toRgb8); 1/2/4-bit grey
 * is scaled to 8 bits (×255, ×85, ×17, as Pillow does); palettes are expanded to RGB.
 * `index` names the image in errors (`invalid-request`).
 */
export function decodePng(bytes: Uint8Array, index: number): DecodedImage {
  let png: { width: number; height: number; data: Uint8Array | Uint16Array; colorType: number; depth: number };
  try {
    const depth = bytes[24];
    // pngjs zeroes the colour of pixels matching a tRNS key; Pillow keeps it and convert('RGB') drops
    // transparency anyway, so tRNS is removed before decoding.
    const decoded = PNG.sync.read(Buffer.from(withoutChunk(bytes, 'tRNS')), { skipRescale: depth === 16 });
    png = { width: decoded.width, height: decoded.height, data: decoded.data as Uint8Array | Uint16Array, colorType: decoded.colorType, depth: decoded.depth };
  } catch (e) {
    throw new SarashinaError('invalid-request', `image ${index}: the PNG could not be decoded (${e instanceof Error ? e.message : String(e)}). Check that the file is complete.`, {
      index,
      format: 'png',
    });
  }
  // pngjs always hands back RGBA; keep only what the file had.
  const channels = ({ 0: 1, 4: 2, 2: 3, 6: 4, 3: 3 } as Record<number, 1 | 2 | 3 | 4>)[png.colorType] ?? 4;
  const sixteen = png.depth === 16;
  const pixels = png.width * png.height;
  const data = sixteen ? new Uint16Array(pixels * channels) : new Uint8Array(pixels * channels);
  const pick = channels === 1 ? [0] : channels === 2 ? [0, 3] : channels === 3 ? [0, 1, 2] : [0, 1, 2, 3];
  for (let p = 0, s = 0, o = 0; p < pixels; p++, s += 4) {
    for (const c of pick) data[o++] = png.data[s + c] ?? 0;
  }
  return { width: png.width, height: png.height, channels, bitDepth: sixteen ? 16 : 8, data };
}

/** A copy of the PNG byte stream without chunks of type `kind` (CRCs are per chunk, so the rest stays valid). */
function withoutChunk(bytes: Uint8Array, kind: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const end = offset + 12 + length;
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (type !== kind) keep.push(bytes.subarray(offset, Math.min(end, bytes.length)));
    offset = end;
  }
  if (offset < bytes.length) keep.push(bytes.subarray(offset));
  const out = new Uint8Array(keep.reduce((n, k) => n + k.length, 0));
  let o = 0;
  for (const k of keep) {
    out.set(k, o);
    o += k.length;
  }
  return out;
}
