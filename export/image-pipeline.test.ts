// Which image processor a checkpoint's preprocessor_config.json names (hf-config.ts chooseImagePipeline).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chooseImagePipeline, parseImageProcessorConfig } from '../src/convert/hf-config';

/** sbintuitions/sarashina2.2-ocr preprocessor_config.json, verbatim (shared/reference/sarashina2-vision-real-files.md §2.2). */
const SARASHINA22_OCR = {
  auto_map: { AutoProcessor: 'processing_sarashina2_vision.Sarashina2VisionProcessor' },
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_processor_type: 'Sarashina2VisionImageProcessor',
  image_std: [0.5, 0.5, 0.5],
  max_pixels: 2458624,
  merge_size: 2,
  min_pixels: 3136,
  patch_size: 14,
  processor_class: 'Sarashina2VisionProcessor',
  resample: 2,
  rescale_factor: 0.00392156862745098,
  size: { longest_edge: 2458624, shortest_edge: 3136 },
  temporal_patch_size: 2,
};
const FLOAT_CODE = [{ file: 'processing_sarashina2_vision.py', text: 'resized = torch.nn.functional.interpolate(t, size=(h, w), mode="bicubic")' }];
const PIL_CODE = [{ file: 'processing_sarashina2_vision.py', text: 'image = resize(image, size=(h, w), resample=resample)' }];

describe('chooseImagePipeline', () => {
  it('Qwen2-VL processor types, or no type, are the Qwen2-VL PIL pipeline', () => {
    for (const type of ['Qwen2VLImageProcessor', 'Qwen2VLImageProcessorPil', 'Qwen2VLImageProcessorFast', undefined]) {
      expect(chooseImagePipeline(type === undefined ? {} : { image_processor_type: type }), String(type)).toBe('qwen2-vl');
    }
  });

  it("Sarashina2VisionImageProcessor follows the checkpoint's processing code", () => {
    const spec = parseImageProcessorConfig(SARASHINA22_OCR, { processorCode: FLOAT_CODE });
    expect(spec).toMatchObject({ pipeline: 'sarashina2.2', minPixels: 3136, maxPixels: 2458624, imageMean: [0.5, 0.5, 0.5] });
    expect(chooseImagePipeline(SARASHINA22_OCR, { processorCode: PIL_CODE })).toBe('qwen2-vl');
    expect(chooseImagePipeline(SARASHINA22_OCR, { pipeline: 'qwen2-vl', processorCode: FLOAT_CODE })).toBe('qwen2-vl');
  });

  it('an unknown type, or remote code that does not tell, is invalid-model naming the file and field', () => {
    const cases: [Record<string, unknown>, Parameters<typeof chooseImagePipeline>[1], RegExp][] = [
      [{ image_processor_type: 'SiglipImageProcessor' }, {}, /SiglipImageProcessor.*not an image processor this engine implements/],
      [SARASHINA22_OCR, {}, /remote code.*processing_sarashina2_vision\.py/],
      [SARASHINA22_OCR, { processorCode: [{ file: 'processing_sarashina2_vision.py', text: 'pass' }] }, /neither calls interpolate/],
      [{ image_processor_type: 7 }, {}, /not a class name/],
    ];
    for (const [config, choice, message] of cases) {
      let error: unknown;
      try {
        chooseImagePipeline(config, choice);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'invalid-model', details: { file: 'preprocessor_config.json', field: 'image_processor_type' } });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain('--image-pipeline');
    }
  });
});

const TYPES = fileURLToPath(new URL('./reference/fixtures/real-files/image-processor-types.json', import.meta.url));
interface TypeVariant {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly class?: string;
  readonly error?: string;
  readonly bitEqualToPil?: boolean;
}

describe('what transformers builds for each preprocessor_config.json type (GPU-machine fixture)', () => {
  it('Qwen2-VL types: a Qwen2-VL processor there, the Qwen2-VL pipeline here; what transformers cannot build we refuse', () => {
    const fixture = JSON.parse(readFileSync(TYPES, 'utf8')) as { pilProcessor: string; variants: (TypeVariant & { maxAbsDiffFromPil?: number })[] };
    // Our 'qwen2-vl' pipeline is this class's, bit for bit (preprocess-images.test.ts).
    expect(fixture.pilProcessor).toMatch(/Qwen2VLImageProcessorPil$/);
    for (const v of fixture.variants) {
      const type = v.config.image_processor_type;
      if (v.class !== undefined) {
        expect(v.class, v.name).toMatch(/qwen2_vl/);
        expect(chooseImagePipeline(v.config), v.name).toBe('qwen2-vl');
        // transformers 5.17's AutoImageProcessor builds its torchvision class whatever the Qwen2-VL name (even
        // ...Pil): the same algorithm with another resampler, up to 0.015 apart (README "real model").
        expect(v.maxAbsDiffFromPil ?? 1, v.name).toBeLessThan(0.05);
      } else if (typeof type === 'string') {
        expect(v.error, v.name).toMatch(/Unrecognized image processor/);
        expect(() => chooseImagePipeline(v.config), v.name).toThrow(expect.objectContaining({ code: 'invalid-model' }));
      }
    }
  });
});
