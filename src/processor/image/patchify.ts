import type { RgbImage } from './decoded-image';

export interface PatchLayout {
  /** Pixels per patch side (14). */
  readonly patchSize: number;
  /** Frames per patch (2); a still image is repeated to fill them. */
  readonly temporalPatchSize: number;
  /** Patches per merge-window side (2). */
  readonly mergeSize: number;
}

/** Values per patch row: channels · frames · patchSize² (3 · 2 · 14 · 14 = 1176). */
export function patchRowLength(layout: PatchLayout): number {
  return 3 * layout.temporalPatchSize * layout.patchSize * layout.patchSize;
}

/**
 * Writes `image` (sides multiples of patchSize · mergeSize) as patch rows into `out`, starting at row
 * `firstRow`, in transformers' order: rows by merge window (block row, block column, row in window,
 * column in window); columns by (channel, frame, y in patch, x in patch) — numpy's
 * reshape(C, gh/m, m, P, gw/m, m, P).transpose(1, 4, 2, 5, 0, 3, 6) with the frame broadcast in after C.
 * `lookup` maps (channel, byte) to the float value (see pixelLookup). Returns the number of rows written.
 */
export function writePatches(image: RgbImage, layout: PatchLayout, lookup: Float32Array, out: Float32Array, firstRow: number): number {
  const p = layout.patchSize;
  const src = image.data;
  const pixelStride = image.stride;
  const stride = image.width * pixelStride;
  return walkPatches(image.width, image.height, layout, out, firstRow, (frame0, y0, x0, c) => {
    const table = c * 256;
    let o = frame0;
    for (let py = 0; py < p; py++) {
      let s = (y0 + py) * stride + x0 * pixelStride + c;
      for (let px = 0; px < p; px++, s += pixelStride) out[o++] = lookup[table + (src[s] ?? 0)] ?? 0;
    }
  });
}

/**
 * As writePatches for an image already in float32 (height × width × 3 interleaved, e.g. normalized and then
 * resized in float by the Sarashina2.2 pipeline): the same row and column order, values copied as they are.
 */
export function writeFloatPatches(values: Float32Array, width: number, height: number, layout: PatchLayout, out: Float32Array, firstRow: number): number {
  const p = layout.patchSize;
  const stride = width * 3;
  return walkPatches(width, height, layout, out, firstRow, (frame0, y0, x0, c) => {
    let o = frame0;
    for (let py = 0; py < p; py++) {
      let s = (y0 + py) * stride + x0 * 3 + c;
      for (let px = 0; px < p; px++, s += 3) out[o++] = values[s] ?? 0;
    }
  });
}

/**
 * The patch rows of a width × height image in writePatches' order: for each row and channel, `fillFrame` writes the
 * first frame's patchSize² values at out[frame0…] from the patch whose top-left pixel is (x0, y0); the other frames
 * are copies of it. Returns the number of rows.
 */
function walkPatches(
  width: number,
  height: number,
  layout: PatchLayout,
  out: Float32Array,
  firstRow: number,
  fillFrame: (frame0: number, y0: number, x0: number, channel: number) => void,
): number {
  const { patchSize: p, temporalPatchSize: t, mergeSize: m } = layout;
  const gridH = height / p;
  const gridW = width / p;
  const rowLen = patchRowLength(layout);
  const frameLen = p * p;
  let row = firstRow;
  for (let bh = 0; bh < gridH / m; bh++) {
    for (let bw = 0; bw < gridW / m; bw++) {
      for (let mh = 0; mh < m; mh++) {
        for (let mw = 0; mw < m; mw++) {
          const y0 = (bh * m + mh) * p;
          const x0 = (bw * m + mw) * p;
          for (let c = 0; c < 3; c++) {
            const frame0 = row * rowLen + c * t * frameLen;
            fillFrame(frame0, y0, x0, c);
            for (let f = 1; f < t; f++) out.copyWithin(frame0 + f * frameLen, frame0, frame0 + frameLen);
          }
          row++;
        }
      }
    }
  }
  return row - firstRow;
}
