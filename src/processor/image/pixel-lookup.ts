import type { ImageProcessorSpec } from '../../protocol/model-spec';

/**
 * The float32 value the model sees for each (channel, byte) pair: a [3 · 256] table. After the uint8
 * resize, rescale and normalize act on one byte at a time, so a table reproduces transformers' numpy
 * arithmetic exactly: rescale = float32(float64(byte) · rescaleFactor), then normalize in float32,
 * (x − float32(mean)) / float32(std), each step rounded to float32 as numpy does.
 */
export function pixelLookup(spec: Pick<ImageProcessorSpec, 'doRescale' | 'rescaleFactor' | 'doNormalize' | 'imageMean' | 'imageStd'>): Float32Array {
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(spec.imageMean[c] ?? 0);
    const std = Math.fround(spec.imageStd[c] ?? 1);
    for (let v = 0; v < 256; v++) {
      let x = spec.doRescale ? Math.fround(v * spec.rescaleFactor) : v;
      if (spec.doNormalize) x = Math.fround(Math.fround(x - mean) / std);
      table[c * 256 + v] = x;
    }
  }
  return table;
}
