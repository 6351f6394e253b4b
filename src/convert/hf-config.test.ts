import { describe, expect, it } from 'vitest';
import { isSarashinaError } from '../protocol/errors';
import { QWEN2_VL_IMAGE_DEFAULTS } from '../protocol/model-spec';
import { checkpointTensorShapes, WEIGHTS } from '../protocol/weight-names';
import { checkTensorShapes, parseImageProcessorConfig, parseModelConfig } from './hf-config';

/** sbintuitions/sarashina2-vision-8b config.json, verbatim (reference §1.2). */
const REAL_8B_CONFIG = {
  architectures: ['Sarashina2VisionForCausalLM'],
  auto_map: {
    AutoConfig: 'configuration_sarashina2_vision.Sarashina2VisionConfig',
    AutoModelForCausalLM: 'modeling_sarashina2_vision.Sarashina2VisionForCausalLM',
  },
  end_image_token_index: 102398,
  image_token_index: 14,
  model_type: 'sarashina2_vision',
  start_image_token_index: 102397,
  text_config: {
    _name_or_path: 'sbintuitions/sarashina2-7b',
    architectures: ['LlamaForCausalLM'],
    max_position_embeddings: 4096,
    model_type: 'llama',
    rms_norm_eps: 1e-5,
    torch_dtype: 'bfloat16',
    vocab_size: 102400,
  },
  torch_dtype: 'bfloat16',
  transformers_version: '4.47.0',
  vision_config: { hidden_size: 4096, in_chans: 3, model_type: 'qwen2_vl', spatial_patch_size: 14 },
};

function paramCount(shapes: Map<string, readonly number[]>): number {
  let total = 0;
  for (const shape of shapes.values()) total += shape.reduce((a, b) => a * b, 1);
  return total;
}

function expectInvalid(fn: () => unknown, ...fragments: string[]): void {
  let error: unknown = null;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isSarashinaError(error, 'invalid-model'), String(error)).toBe(true);
  for (const f of fragments) expect((error as Error).message).toContain(f);
}

describe('parseModelConfig', () => {
  it('reads the real 8B diff-format config with Llama and Qwen2-VL defaults filled in', () => {
    const spec = parseModelConfig(REAL_8B_CONFIG);
    expect(spec.text).toEqual({
      hiddenSize: 4096,
      intermediateSize: 11008,
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 32,
      headDim: 128,
      vocabSize: 102400,
      maxPositionEmbeddings: 4096,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      tieWordEmbeddings: false,
    });
    expect(spec.vision).toMatchObject({ depth: 32, embedDim: 1280, numHeads: 16, mlpDim: 5120, patchSize: 14, temporalPatchSize: 2, spatialMergeSize: 2, inChannels: 3, outHiddenSize: 4096 });
    expect(spec.tokens).toEqual({ bos: 1, eos: 2, pad: null, image: 14, imageStart: 102397, imageEnd: 102398 });
    // The published parameter count of Sarashina2-Vision-8B (reference §0) ties names and shapes to the spec.
    expect(paramCount(checkpointTensorShapes(spec))).toBe(7_993_521_664);
  });

  it('reads a 14B-shaped config and gets the 14B parameter count', () => {
    const config = structuredClone(REAL_8B_CONFIG) as Record<string, unknown> & { text_config: Record<string, unknown>; vision_config: Record<string, unknown> };
    Object.assign(config.text_config, { hidden_size: 5120, intermediate_size: 13824, num_hidden_layers: 40, num_attention_heads: 40, num_key_value_heads: 40 });
    config.vision_config.hidden_size = 5120;
    const spec = parseModelConfig(config);
    expect(spec.text.headDim).toBe(128);
    expect(paramCount(checkpointTensorShapes(spec))).toBe(14_420_395_520);
  });

  it('reads transformers-5 rope_parameters and rejects what the engine cannot run', () => {
    const withRope = (text: Record<string, unknown>, vision: Record<string, unknown> = {}): unknown => ({
      ...REAL_8B_CONFIG,
      text_config: { ...REAL_8B_CONFIG.text_config, ...text },
      vision_config: { ...REAL_8B_CONFIG.vision_config, ...vision },
    });
    expect(parseModelConfig(withRope({ rope_parameters: { rope_type: 'default', rope_theta: 500000 } })).text.ropeTheta).toBe(500000);
    expectInvalid(() => parseModelConfig({ ...REAL_8B_CONFIG, model_type: 'qwen2_vl' }), 'model_type', 'qwen2_vl');
    expectInvalid(() => parseModelConfig(withRope({}, { hidden_size: 3584 })), 'vision_config.hidden_size', '3584', '4096');
    expectInvalid(() => parseModelConfig(withRope({ rope_scaling: { type: 'linear', factor: 2 } })), 'rope_scaling');
    expectInvalid(() => parseModelConfig(withRope({ attention_bias: true })), 'attention_bias');
    expectInvalid(() => parseModelConfig(withRope({ num_key_value_heads: 5 })), 'num_key_value_heads');
    expectInvalid(() => parseModelConfig(withRope({ vocab_size: 1000 })), 'imageStart', '102397');
    expectInvalid(() => parseModelConfig(withRope({ hidden_size: -1 })), 'text_config.hidden_size');
    expectInvalid(() => parseModelConfig({ model_type: 'sarashina2_vision' }), 'text_config');
    expectInvalid(() => parseModelConfig('nope'), 'JSON object');
  });
});

describe('parseImageProcessorConfig', () => {
  it('accepts every pixel-bound form and PIL resample codes', () => {
    expect(parseImageProcessorConfig({ min_pixels: 3136, max_pixels: 802816, resample: 2 })).toMatchObject({ minPixels: 3136, maxPixels: 802816, resample: 'bilinear' });
    expect(parseImageProcessorConfig({ size: { min_pixels: 1000, max_pixels: 2000 } })).toMatchObject({ minPixels: 1000, maxPixels: 2000 });
    expect(parseImageProcessorConfig({ size: { shortest_edge: 3136, longest_edge: 12845056 }, resample: 1 })).toMatchObject({ minPixels: 3136, maxPixels: 12845056, resample: 'lanczos' });
    expect(parseImageProcessorConfig({ image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], do_normalize: false, resample: 0 })).toMatchObject({ imageMean: [0.5, 0.5, 0.5], doNormalize: false, resample: 'nearest' });
    expect(parseImageProcessorConfig({})).toEqual(QWEN2_VL_IMAGE_DEFAULTS);
    expect([4, 5, 3].map((r) => parseImageProcessorConfig({ resample: r }).resample)).toEqual(['box', 'hamming', 'bicubic']);
  });

  it('rejects bad values naming the key', () => {
    expectInvalid(() => parseImageProcessorConfig({ resample: 7 }), 'resample', '7');
    expectInvalid(() => parseImageProcessorConfig({ image_std: [0.5, 0, 0.5] }), 'image_std');
    expectInvalid(() => parseImageProcessorConfig({ min_pixels: 5000, max_pixels: 4000 }), 'min_pixels', '5000');
    expectInvalid(() => parseImageProcessorConfig({ do_rescale: 'yes' }), 'do_rescale');
  });
});

describe('checkTensorShapes', () => {
  const spec = parseModelConfig({ ...REAL_8B_CONFIG, text_config: { ...REAL_8B_CONFIG.text_config, num_hidden_layers: 1 }, vision_config: { ...REAL_8B_CONFIG.vision_config, depth: 1 } });
  const good = new Map([...checkpointTensorShapes(spec)].map(([name, shape]) => [name, { shape }]));

  it('accepts the expected shapes and names the tensor, expected and actual shape on a mismatch', () => {
    expect(() => checkTensorShapes(spec, good)).not.toThrow();
    const wrong = new Map(good);
    const fc2 = WEIGHTS.merger.fc2.weight;
    wrong.set(fc2, { shape: [3584, 5120] });
    expectInvalid(() => checkTensorShapes(spec, wrong), fc2, '[3584, 5120]', '[4096, 5120]');
    const missing = new Map(good);
    missing.delete(WEIGHTS.projectorNorm.bias);
    expectInvalid(() => checkTensorShapes(spec, missing), WEIGHTS.projectorNorm.bias);
    // The spec has one decoder layer, so layer 1's norm is extra.
    const extraName = WEIGHTS.decoderLayer(1).inputNorm;
    const extra = new Map(good);
    extra.set(extraName, { shape: [4096] });
    expectInvalid(() => checkTensorShapes(spec, extra), extraName);
  });
});

describe('parseModelConfig against Hugging Face', () => {
  it('matches the values transformers itself filled in for the tiny checkpoint (fixtures/tiny/hf-spec.json)', async () => {
    const { readFile } = await import('node:fs/promises');
    const root = new URL('../../export/reference/fixtures/tiny/', import.meta.url);
    const spec = parseModelConfig(JSON.parse(await readFile(new URL('checkpoint/config.json', root), 'utf8')));
    const hf = JSON.parse(await readFile(new URL('hf-spec.json', root), 'utf8')) as {
      vision: Record<string, number>;
      text: Record<string, number | boolean | null> & { rope_parameters: { rope_theta: number } };
      norm: { eps: number };
      imageProcessorKwargs: Record<string, unknown>;
    };
    expect(spec.vision).toMatchObject({
      depth: hf.vision.depth,
      embedDim: hf.vision.embed_dim,
      numHeads: hf.vision.num_heads,
      mlpDim: (hf.vision.embed_dim ?? 0) * (hf.vision.mlp_ratio ?? 0),
      patchSize: hf.vision.patch_size,
      temporalPatchSize: hf.vision.temporal_patch_size,
      spatialMergeSize: hf.vision.spatial_merge_size,
      inChannels: hf.vision.in_channels,
      outHiddenSize: hf.vision.hidden_size,
      projectorNormEps: hf.norm.eps,
    });
    expect(spec.text).toEqual({
      hiddenSize: hf.text.hidden_size,
      intermediateSize: hf.text.intermediate_size,
      numLayers: hf.text.num_hidden_layers,
      numHeads: hf.text.num_attention_heads,
      numKvHeads: hf.text.num_key_value_heads,
      headDim: hf.text.head_dim,
      vocabSize: hf.text.vocab_size,
      maxPositionEmbeddings: hf.text.max_position_embeddings,
      rmsNormEps: hf.text.rms_norm_eps,
      ropeTheta: hf.text.rope_parameters.rope_theta,
      tieWordEmbeddings: hf.text.tie_word_embeddings,
    });
    expect(spec.tokens).toMatchObject({ bos: hf.text.bos_token_id, eos: hf.text.eos_token_id, pad: hf.text.pad_token_id });
    const processor = parseImageProcessorConfig(JSON.parse(await readFile(new URL('checkpoint/preprocessor_config.json', root), 'utf8')));
    const kw = hf.imageProcessorKwargs;
    expect(processor).toMatchObject({ minPixels: kw.min_pixels, maxPixels: kw.max_pixels, imageMean: kw.image_mean, imageStd: kw.image_std, rescaleFactor: kw.rescale_factor, resample: 'bicubic' });
  });
});
