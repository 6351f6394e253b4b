import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseImageProcessorConfig } from '../../convert/hf-config';
import { isSarashinaError } from '../../protocol/errors';
import { QWEN2_VL_IMAGE_DEFAULTS, type ImageProcessorSpec, type ResampleFilter } from '../../protocol/model-spec';
import type { DecodedImage } from './decoded-image';
import { decodeImageBytes } from './decode-image-node';
import { fixtureBytes, fixtureGunzip, fixtureJson } from './fixture-files';
import { planImage, preprocessImages } from './preprocess-images';

interface ParityCase {
  name: string;
  inputs: string[];
  prep: 'open' | 'convert-rgb';
  /** The kwargs given to the HF processor: the keys of a preprocessor_config.json. */
  hfKwargs: Record<string, unknown>;
  spec: {
    minPixels: number;
    maxPixels: number;
    resample: ResampleFilter;
    imageMean: [number, number, number];
    imageStd: [number, number, number];
    rescaleFactor: number;
  };
  grids: [number, number, number][];
  tokenCounts: number[];
  shape: [number, number];
  sha256Float32: string;
  codes?: string;
  lut?: number[][];
  raw?: string;
}

const { cases } = fixtureJson<{ cases: ParityCase[] }>('cases.json');

// Several cases share an input (the 12-megapixel one twice); decode each file once.
const decoded = new Map<string, DecodedImage>();
function decodeInput(file: string, index: number): DecodedImage {
  const cached = decoded.get(file) ?? decodeImageBytes(fixtureBytes(`inputs/${file}`), index);
  decoded.set(file, cached);
  return cached;
}

/** Hugging Face's pixel_values, rebuilt losslessly from the fixture (codes + per-channel table, or raw). */
function expectedValues(c: ParityCase): Float32Array {
  if (c.raw) {
    const bytes = fixtureGunzip(c.raw);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const codes = fixtureGunzip(c.codes ?? '');
  const lut = c.lut ?? [];
  const [rows, cols] = c.shape;
  const perChannel = cols / 3;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < codes.length; i++) {
    const channel = Math.floor((i % cols) / perChannel);
    out[i] = lut[channel]?.[codes[i] ?? 0] ?? NaN;
  }
  return out;
}

/** The spec our config parser builds from the same keys Hugging Face was given (both size forms). */
function specOf(c: ParityCase): ImageProcessorSpec {
  const spec = parseImageProcessorConfig(c.hfKwargs);
  expect(spec).toEqual({ ...QWEN2_VL_IMAGE_DEFAULTS, ...c.spec });
  return spec;
}

describe('preprocessImages parity with transformers Qwen2VLImageProcessorPil', () => {
  for (const c of cases) {
    it(`${c.name}: grids, token counts and pixel values`, () => {
      const images: DecodedImage[] = c.inputs.map((f, i) => decodeInput(f, i));
      const isJpeg = c.inputs.some((f) => f.endsWith('.jpg'));
      const out = preprocessImages(images, specOf(c));
      expect(out.grids.map((g) => [g.t, g.h, g.w])).toEqual(c.grids);
      expect(out.tokenCounts).toEqual(c.tokenCounts);
      expect(out.pixelValues.length).toBe(c.shape[0] * c.shape[1]);
      const want = expectedValues(c);
      let maxAbs = 0;
      let sumAbs = 0;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs((out.pixelValues[i] ?? NaN) - (want[i] ?? NaN));
        if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
        sumAbs += d;
      }
      if (isJpeg) {
        // jpeg-js and libjpeg-turbo differ in IDCT rounding and chroma upsampling (decoded bytes: mean
        // 0.7 levels, max 14, see decode-image-node.test.ts); the steps after decoding are checked
        // exactly by the PNG cases, so here the values are only required to be close. (In Chromium the
        // platform decoder is libjpeg-turbo and this case is exact.)
        expect(sumAbs / want.length).toBeLessThan(0.02);
        expect(maxAbs).toBeLessThan(0.3);
        return;
      }
      expect(maxAbs, `max-abs error over ${want.length} values`).toBeLessThanOrEqual(1e-5);
      // And in fact bit for bit: the sha256 of the float32 bytes equals Hugging Face's.
      const sha = createHash('sha256').update(new Uint8Array(out.pixelValues.buffer)).digest('hex');
      expect(sha).toBe(c.sha256Float32);
    });
  }

  it('drops alpha like convert("RGB") (same result as the pre-converted RGBA case)', () => {
    const direct = cases.find((c) => c.name === 'astronaut-rgba');
    const converted = cases.find((c) => c.name === 'astronaut-rgba-convert-rgb');
    expect(direct?.sha256Float32).toBeDefined();
    expect(direct?.sha256Float32).toBe(converted?.sha256Float32);
  });
});

describe('preprocessImages limits', () => {
  const grey = (width: number, height: number): DecodedImage => ({ width, height, channels: 1, bitDepth: 8, data: new Uint8Array(width * height) });

  it('lets the caller lower maxPixels at run time, and only lower it', () => {
    const spec = QWEN2_VL_IMAGE_DEFAULTS;
    // Over the 1,003,520 default: shrunk by √(2073600 / 1003520) and floored to 728×1316.
    expect(planImage(1080, 1920, spec).grid).toEqual({ t: 1, h: 52, w: 94 });
    expect(planImage(1080, 1920, spec, { maxPixels: 802816 })).toMatchObject({ resizedHeight: 672, resizedWidth: 1176, tokenCount: 1008 });
    const small = preprocessImages([grey(640, 480)], spec, { maxPixels: 28 * 28 * 16 });
    expect(small.grids).toEqual([{ t: 1, h: 6, w: 8 }]);
    expect(() => preprocessImages([grey(64, 64)], spec, { maxPixels: spec.maxPixels + 1 })).toThrow(/maxPixels 1003521 is out of range/);
    expect(() => planImage(64, 64, spec, { maxPixels: 100 })).toThrow(/from 3136/);
  });

  it('names the image index in invalid-request errors', () => {
    try {
      preprocessImages([grey(64, 64), grey(64, 5)], QWEN2_VL_IMAGE_DEFAULTS);
      expect.unreachable();
    } catch (e) {
      expect(isSarashinaError(e, 'invalid-request')).toBe(true);
      expect((e as Error).message).toMatch(/^image 1: Image of 64×5 px is too small/);
    }
    const bad: DecodedImage = { width: 10, height: 10, channels: 3, bitDepth: 8, data: new Uint8Array(299) };
    expect(() => preprocessImages([bad], QWEN2_VL_IMAGE_DEFAULTS)).toThrow(/image 0: 299 samples for 10×10×3 \(expected 300\)/);
  });

  it('refuses images over the decompression-bomb limit with image-too-large', () => {
    const huge = { width: 20000, height: 10000, channels: 1, bitDepth: 8, data: { length: 2e8 } } as unknown as DecodedImage;
    Object.setPrototypeOf(huge.data, Uint8Array.prototype);
    try {
      preprocessImages([huge], QWEN2_VL_IMAGE_DEFAULTS);
      expect.unreachable();
    } catch (e) {
      expect(isSarashinaError(e, 'image-too-large')).toBe(true);
    }
  });
});
