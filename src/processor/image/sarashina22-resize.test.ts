// The Sarashina2.2-Vision image pipeline (normalize, then torch's float bicubic resize). Parity fixtures come from
// export/reference/real_files.py on the GPU machine (torch 2.11 F.interpolate on CPU) in fixtures/real-files/sarashina22/;
// the properties below hold for torch's bicubic by its definition (aten UpSample.h) and need no fixture.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseImageProcessorConfig } from '../../convert/hf-config';
import type { ImageProcessorSpec } from '../../protocol/model-spec';
import { encodeOnnxModel } from '../../ort/onnx/onnx-model';
import { loadOrt } from '../../ort/ort-runtime';
import { decodeImageBytes } from './decode-image-node';
import { bicubicTaps, resizeFloatBicubic } from './float-bicubic-resize';
import { fixtureBytes } from './fixture-files';
import { preprocessImages } from './preprocess-images';

const REAL_FILES = fileURLToPath(new URL('../../../export/reference/fixtures/real-files/', import.meta.url));
const CASES = `${REAL_FILES}sarashina22/cases.json`;

interface Case {
  name: string;
  input: string;
  settings: { min_pixels: number; max_pixels: number; patch_size: number; temporal_patch_size: number; merge_size: number; image_mean: number[]; image_std: number[]; rescale_factor: number };
  grid?: [number, number, number];
  shape?: [number, number];
  file?: string;
  error?: string;
}

/** The 2.2 family's preprocessor_config.json layout (sbintuitions/sarashina2.2-ocr) with a case's settings. */
function sarashinaSpec(settings: Case['settings']): ImageProcessorSpec {
  return parseImageProcessorConfig(
    {
      image_processor_type: 'Sarashina2VisionImageProcessor',
      ...settings,
      size: { longest_edge: settings.max_pixels, shortest_edge: settings.min_pixels },
      resample: 2,
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
    },
    { processorCode: [{ file: 'processing_sarashina2_vision.py', text: 'x = F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)' }] },
  );
}

describe('torch bicubic (align_corners=False, no antialias) in float32', () => {
  it('keeps an image whose size does not change, bit for bit', () => {
    const src = Float32Array.from({ length: 5 * 7 * 3 }, (_, i) => Math.fround(Math.sin(i) * 2.1));
    expect(resizeFloatBicubic(src, 7, 5, 3, 7, 5)).toEqual(src);
  });

  it('weights sum to 1 and taps repeat the edge pixels', () => {
    for (const [input, output] of [[300, 28], [28, 300], [17, 56], [451, 224]] as const) {
      const { index, weight } = bicubicTaps(input, output);
      for (let o = 0; o < output; o++) {
        const sum = [0, 1, 2, 3].reduce((a, j) => a + (weight[o * 4 + j] ?? 0), 0);
        expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
        for (let j = 0; j < 4; j++) expect(index[o * 4 + j]).toBeGreaterThanOrEqual(0);
        for (let j = 0; j < 4; j++) expect(index[o * 4 + j]).toBeLessThan(input);
      }
    }
    // Upscaling by 2: output 0 samples source −0.25 → taps −2…1 clamp to 0, 0, 0, 1 and t = 0.75.
    const { index, weight } = bicubicTaps(4, 8);
    expect(Array.from(index.subarray(0, 4))).toEqual([0, 0, 0, 1]);
    expect(Array.from(weight.subarray(0, 4))).toEqual([-0.03515625, 0.26171875, 0.87890625, -0.10546875]);
  });

  it('overshoots past the input range at a sharp edge, as bicubic without clamping does', () => {
    const src = new Float32Array([-1, -1, -1, 1, 1, 1]); // 1 row, 6 px, 1 channel
    const out = resizeFloatBicubic(src, 6, 1, 1, 12, 1);
    expect(Math.min(...out)).toBeLessThan(-1);
    expect(Math.max(...out)).toBeGreaterThan(1);
  });
});

describe('torch bicubic next to ONNX Resize (cubic, half_pixel, A = −0.75, edges clamped) on onnxruntime-web wasm', () => {
  // The same definition implemented independently: ORT maps x_out → (x_out + 0.5) / (out / in) − 0.5 where torch
  // takes (in / out) · (x_out + 0.5) − 0.5, so the two agree to float32 rounding, not bit for bit.
  it('agrees on down- and up-scaling, odd sizes included', async () => {
    const ort = await loadOrt();
    for (const [h, w, oh, ow] of [[37, 53, 28, 42], [12, 30, 56, 112], [300, 451, 112, 168], [29, 29, 29, 57]] as const) {
      // Smooth enough (gradient ≲ 0.3 per pixel) that the two coordinate formulas' float32 difference (≈ 1e-7 ·
      // the index) stays far below the tolerance; a tap or weight error would be ≳ 1e-2.
      const hwc = new Float32Array(h * w * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) hwc[(y * w + x) * 3 + c] = Math.sin(0.21 * x + c) * Math.cos(0.13 * y) + 0.3 * Math.sin(0.05 * (x + y));
        }
      }
      const nchw = new Float32Array(hwc.length);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) nchw[c * h * w + y * w + x] = hwc[(y * w + x) * 3 + c] ?? 0;
      const model = encodeOnnxModel({
        name: 'resize',
        inputs: [{ name: 'x', type: 'float32', shape: [1, 3, h, w] }],
        outputs: [{ name: 'y', type: 'float32', shape: [1, 3, oh, ow] }],
        initializers: [{ name: 'sizes', type: 'int64', dims: [4], data: new BigInt64Array([1n, 3n, BigInt(oh), BigInt(ow)]) }],
        nodes: [
          {
            op: 'Resize',
            inputs: ['x', '', '', 'sizes'],
            outputs: ['y'],
            attributes: { mode: 'cubic', coordinate_transformation_mode: 'half_pixel', cubic_coeff_a: { float: -0.75 }, exclude_outside: 0 },
          },
        ],
      });
      const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
      const result = await session.run({ x: new ort.Tensor('float32', nchw, [1, 3, h, w]) });
      await session.release();
      const theirs = result.y?.data as Float32Array;
      const ours = resizeFloatBicubic(hwc, w, h, 3, ow, oh);
      let maxDiff = 0;
      for (let y = 0; y < oh; y++) {
        for (let x = 0; x < ow; x++) {
          for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs((ours[(y * ow + x) * 3 + c] ?? 0) - (theirs[c * oh * ow + y * ow + x] ?? 0)));
        }
      }
      expect(maxDiff, `${h}x${w} → ${oh}x${ow}`).toBeLessThan(2e-5);
    }
  });
});

describe('Sarashina2.2 image pipeline parity with its Python algorithm (GPU-machine fixtures)', () => {
  it('pixel_values and grids equal torch within float32 rounding', () => {
    const fixture = JSON.parse(readFileSync(CASES, 'utf8')) as { patchLayoutCheck: { maxAbsDiff: number | null }; cases: Case[] };
    // The script's own patch layout equals transformers' Qwen2-VL processor (it checks itself on one image).
    expect(fixture.patchLayoutCheck.maxAbsDiff).toBe(0);
    expect(fixture.cases.length).toBeGreaterThanOrEqual(5);
    for (const c of fixture.cases) {
      expect(c.error, c.name).toBeUndefined();
      const spec = sarashinaSpec(c.settings);
      expect(spec.pipeline).toBe('sarashina2.2');
      const image = decodeImageBytes(fixtureBytes(`inputs/${c.input}`), 0);
      const ours = preprocessImages([image], spec);
      expect([1, ours.grids[0]?.h, ours.grids[0]?.w], c.name).toEqual(c.grid);
      const bytes = gunzipSync(readFileSync(`${REAL_FILES}${c.file ?? ''}`));
      const expected = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      expect(ours.pixelValues.length, c.name).toBe(expected.length);
      let maxDiff = 0;
      let equal = 0;
      for (let i = 0; i < expected.length; i++) {
        const d = Math.abs((ours.pixelValues[i] ?? 0) - (expected[i] ?? 0));
        if (d === 0) equal++;
        maxDiff = Math.max(maxDiff, d);
      }
      // Within float32 rounding: 16 products summed in two stages, values up to ~2.2 (one unit in the last place
      // is 2.4e-7 there). Measured against torch 2.11: 3.6e-7 to 9.5e-7 (CLIP normalization), a fifth to a third
      // of the values bit-equal; rounding every step instead of fusing gave up to 9.3e-6.
      expect(maxDiff, `${c.name}: max |diff| ${maxDiff}, ${equal}/${expected.length} equal`).toBeLessThanOrEqual(1.5e-6);
    }
  });
});
