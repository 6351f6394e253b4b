import type { ResampleFilter } from '../../protocol/model-spec';
import type { RgbImage } from './decoded-image';
import { axisCoefficients, PRECISION_BITS } from './resample-coefficients';
import { FILTER_KERNELS } from './resample-filters';

const HALF = 1 << (PRECISION_BITS - 1);

/**
 * Resizes 8-bit RGB to `outWidth`×`outHeight` with the bytes Pillow's `Image.resize(size, filter)`
 * produces for an RGB image (reducing_gap None, full box). The result is packed RGB (stride 3), except
 * that an unchanged size returns the input itself and a vertical-only resize keeps the input's stride;
 * the input is never written to. Filters other than NEAREST run Pillow's two
 * separable passes, horizontal first, on integer taps with 22 fraction bits, each pass rounding
 * (+0.5) and clipping to 0…255; the horizontal pass covers only the rows the vertical pass reads.
 * NEAREST is Pillow's affine scale: source index = trunc of an accumulated (i + 0.5)·in/out.
 */
export function resizeRgb(image: RgbImage, outWidth: number, outHeight: number, filter: ResampleFilter): RgbImage {
  const { width, height } = image;
  if (width === outWidth && height === outHeight) return image;
  if (filter === 'nearest') return resizeNearest(image, outWidth, outHeight);
  const kernel = FILTER_KERNELS[filter];
  const vertical = axisCoefficients(height, outHeight, kernel);
  let source = image;
  if (width !== outWidth) {
    // Rows the vertical pass touches: from the first output row's first tap to the last one's last.
    const first = vertical.start[0] ?? 0;
    const last = (vertical.start[outHeight - 1] ?? 0) + (vertical.count[outHeight - 1] ?? 0);
    source = horizontalPass(image, outWidth, first, last, filter);
    for (let i = 0; i < outHeight; i++) vertical.start[i] = (vertical.start[i] ?? 0) - first;
  }
  if (height === outHeight) return source;
  return verticalPass(source, outHeight, vertical.start, vertical.count, vertical.coeffs, vertical.taps);
}

function horizontalPass(image: RgbImage, outWidth: number, firstRow: number, endRow: number, filter: Exclude<ResampleFilter, 'nearest'>): RgbImage {
  const { taps, start, count, coeffs } = axisCoefficients(image.width, outWidth, FILTER_KERNELS[filter]);
  const rows = endRow - firstRow;
  const src = image.data;
  const stride = image.stride;
  // Uint8ClampedArray clamps the shifted sums to 0…255, which is Pillow's clip8.
  const out = new Uint8ClampedArray(outWidth * rows * 3);
  const inStride = image.width * stride;
  for (let y = 0; y < rows; y++) {
    const rowIn = (y + firstRow) * inStride;
    let o = y * outWidth * 3;
    for (let x = 0; x < outWidth; x++) {
      const n = count[x] ?? 0;
      const kBase = x * taps;
      let p = rowIn + (start[x] ?? 0) * stride;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let j = 0; j < n; j++, p += stride) {
        const k = coeffs[kBase + j] ?? 0;
        s0 += (src[p] ?? 0) * k;
        s1 += (src[p + 1] ?? 0) * k;
        s2 += (src[p + 2] ?? 0) * k;
      }
      out[o++] = s0 >> PRECISION_BITS;
      out[o++] = s1 >> PRECISION_BITS;
      out[o++] = s2 >> PRECISION_BITS;
    }
  }
  return { width: outWidth, height: rows, stride: 3, data: out };
}

function verticalPass(image: RgbImage, outHeight: number, start: Int32Array, count: Int32Array, coeffs: Int32Array, taps: number): RgbImage {
  const rowLen = image.width * image.stride;
  const src = image.data;
  const out = new Uint8ClampedArray(rowLen * outHeight);
  // Accumulate whole rows (sequential memory) rather than walking each column down the taps.
  const acc = new Int32Array(rowLen);
  for (let y = 0; y < outHeight; y++) {
    acc.fill(HALF);
    const n = count[y] ?? 0;
    const kBase = y * taps;
    for (let j = 0; j < n; j++) {
      const k = coeffs[kBase + j] ?? 0;
      const rowIn = ((start[y] ?? 0) + j) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = (acc[i] ?? 0) + (src[rowIn + i] ?? 0) * k;
    }
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = (acc[i] ?? 0) >> PRECISION_BITS;
  }
  return { width: image.width, height: outHeight, stride: image.stride, data: out };
}

function resizeNearest(image: RgbImage, outWidth: number, outHeight: number): RgbImage {
  const { width, height, data, stride } = image;
  const out = new Uint8Array(outWidth * outHeight * 3);
  const xScale = width / outWidth;
  const yScale = height / outHeight;
  // Pillow steps the source coordinate by repeated addition; doing the same keeps every rounding equal.
  const xIndex = new Int32Array(outWidth);
  let xo = xScale * 0.5;
  for (let x = 0; x < outWidth; x++) {
    xIndex[x] = xo < 0 ? -1 : Math.trunc(xo);
    xo += xScale;
  }
  let yo = yScale * 0.5;
  for (let y = 0; y < outHeight; y++) {
    const yi = yo < 0 ? -1 : Math.trunc(yo);
    yo += yScale;
    if (yi < 0 || yi >= height) continue; // Pillow leaves such rows zero-filled
    const rowIn = yi * width * stride;
    let o = y * outWidth * 3;
    for (let x = 0; x < outWidth; x++, o += 3) {
      const xi = xIndex[x] ?? -1;
      if (xi < 0 || xi >= width) continue;
      const p = rowIn + xi * stride;
      out[o] = data[p] ?? 0;
      out[o + 1] = data[p + 1] ?? 0;
      out[o + 2] = data[p + 2] ?? 0;
    }
  }
  return { width: outWidth, height: outHeight, stride: 3, data: out };
}
