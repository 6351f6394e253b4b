/**
 * Hugging Face config files → our ModelSpec / ImageProcessorSpec. The only place that reads HF
 * snake_case. config.json is a *diff* against the transformers class defaults (LlamaConfig for
 * `text_config`, Qwen2VLVisionConfig for `vision_config`), so every absent key means that
 * class's default (../shared/reference/sarashina2-vision-architecture.md §1.2–1.4).
 */

import { SarashinaError } from '../protocol/errors';
import { QWEN2_VL_IMAGE_DEFAULTS, type ImagePipeline, type ImageProcessorSpec, type ModelSpec, type ResampleFilter } from '../protocol/model-spec';
import { checkpointTensorShapes } from '../protocol/weight-names';

type Json = Record<string, unknown>;

/** transformers LlamaConfig defaults (the keys Sarashina's config.json may leave out). */
const LLAMA_DEFAULTS = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  bos_token_id: 1,
  eos_token_id: 2,
} as const;

/** transformers Qwen2VLVisionConfig defaults; `hidden_size` is the PatchMerger's output width. */
const QWEN2_VL_VISION_DEFAULTS = {
  depth: 32,
  embed_dim: 1280,
  hidden_size: 3584,
  mlp_ratio: 4,
  num_heads: 16,
  in_channels: 3,
  patch_size: 14,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
} as const;

/** Sarashina2VisionConfig's token ids when config.json omits them (SGLang's getattr defaults). */
const SARASHINA_TOKEN_DEFAULTS = { image_token_index: 14, start_image_token_index: 102397, end_image_token_index: 102398 } as const;

/** Fixed by the Qwen2-VL modeling code, not by the config. */
const VISION_LAYER_NORM_EPS = 1e-6;
const VISION_ROPE_THETA = 10000;
/** Sarashina's extra `norm` is nn.LayerNorm(hidden) with PyTorch's default eps. */
const PROJECTOR_NORM_EPS = 1e-5;

function invalid(field: string, message: string, value: unknown): SarashinaError {
  return new SarashinaError('invalid-model', `config ${field}: ${message} (got ${JSON.stringify(value)}). Use a Sarashina2-Vision checkpoint's own config files.`, { field, value: JSON.stringify(value) ?? 'undefined' });
}

function object(json: unknown, field: string): Json {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid(field, 'must be a JSON object', json);
  return json as Json;
}

function positiveInt(json: Json, key: string, fallback: number, prefix: string): number {
  const value = json[key] ?? fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw invalid(`${prefix}${key}`, 'must be a positive integer', value);
  return value as number;
}

function tokenId(json: Json, key: string, fallback: number | null, prefix: string): number | null {
  let value = json[key] ?? fallback;
  // generation configs may list several EOS ids; the first is the model's own.
  if (Array.isArray(value)) value = value[0];
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid(`${prefix}${key}`, 'must be a non-negative integer token id', value);
  return value as number;
}

function positiveNumber(json: Json, key: string, fallback: number, prefix: string): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw invalid(`${prefix}${key}`, 'must be a positive number', value);
  return value;
}

function expectValue(json: Json, key: string, allowed: readonly unknown[], prefix: string, why: string): void {
  if (key in json && !allowed.includes(json[key])) throw invalid(`${prefix}${key}`, `${why}; supported: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`, json[key]);
}

function ropeTheta(text: Json): number {
  // transformers ≥ 5 writes rope_parameters {rope_type, rope_theta}; older files rope_theta + rope_scaling.
  const params = text.rope_parameters;
  if (params !== undefined && params !== null) {
    const p = object(params, 'text_config.rope_parameters');
    expectValue(p, 'rope_type', ['default'], 'text_config.rope_parameters.', 'Sarashina2 uses plain Llama RoPE');
    if (p.rope_theta !== undefined) return positiveNumber(p, 'rope_theta', LLAMA_DEFAULTS.rope_theta, 'text_config.rope_parameters.');
  }
  if (text.rope_scaling !== undefined && text.rope_scaling !== null) throw invalid('text_config.rope_scaling', 'RoPE scaling is not supported; Sarashina2 uses plain Llama RoPE', text.rope_scaling);
  return positiveNumber(text, 'rope_theta', LLAMA_DEFAULTS.rope_theta, 'text_config.');
}

/**
 * Parses config.json (already JSON-decoded) into a ModelSpec. Unknown model_type, unsupported
 * features (RoPE scaling, biases in the Llama linears, another activation) and inconsistent
 * sizes fail with 'invalid-model' naming the field and value.
 */
export function parseModelConfig(configJson: unknown): ModelSpec {
  const config = object(configJson, '(root)');
  if (config.model_type !== 'sarashina2_vision') throw invalid('model_type', 'is not "sarashina2_vision"; only Sarashina2-Vision checkpoints are supported', config.model_type);
  if (config.text_config === undefined) throw invalid('text_config', 'is missing', undefined);
  const text = object(config.text_config, 'text_config');
  const visionJson = object(config.vision_config ?? {}, 'vision_config');
  const t = 'text_config.';
  const v = 'vision_config.';
  expectValue(text, 'model_type', ['llama'], t, 'the decoder must be a Llama');
  expectValue(text, 'hidden_act', ['silu'], t, 'the Llama MLP activation must be SiLU');
  expectValue(text, 'attention_bias', [false], t, 'Llama attention biases are not supported');
  expectValue(text, 'mlp_bias', [false], t, 'Llama MLP biases are not supported');
  expectValue(visionJson, 'model_type', ['qwen2_vl'], v, 'the vision tower must be Qwen2-VL');
  expectValue(visionJson, 'hidden_act', ['quick_gelu'], v, 'the Qwen2-VL ViT MLP activation must be quick_gelu');

  const hiddenSize = positiveInt(text, 'hidden_size', LLAMA_DEFAULTS.hidden_size, t);
  const numHeads = positiveInt(text, 'num_attention_heads', LLAMA_DEFAULTS.num_attention_heads, t);
  const numKvHeads = text.num_key_value_heads === null ? numHeads : positiveInt(text, 'num_key_value_heads', numHeads, t);
  if (numHeads % numKvHeads !== 0) throw invalid(`${t}num_key_value_heads`, `must divide num_attention_heads ${numHeads}`, numKvHeads);
  const headDim = text.head_dim === null || text.head_dim === undefined ? hiddenSize / numHeads : positiveInt(text, 'head_dim', 0, t);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw invalid(`${t}hidden_size`, `divided by num_attention_heads ${numHeads} must give an even head size`, hiddenSize);
  const vocabSize = positiveInt(text, 'vocab_size', LLAMA_DEFAULTS.vocab_size, t);

  const embedDim = positiveInt(visionJson, 'embed_dim', QWEN2_VL_VISION_DEFAULTS.embed_dim, v);
  const visionHeads = positiveInt(visionJson, 'num_heads', QWEN2_VL_VISION_DEFAULTS.num_heads, v);
  const mlpRatio = positiveNumber(visionJson, 'mlp_ratio', QWEN2_VL_VISION_DEFAULTS.mlp_ratio, v);
  const mlpDim = embedDim * mlpRatio;
  if (!Number.isInteger(mlpDim)) throw invalid(`${v}mlp_ratio`, `times embed_dim ${embedDim} must be an integer`, mlpRatio);
  // The 2-D vision RoPE splits half of each head between rows and columns, in pairs.
  if (embedDim % visionHeads !== 0 || (embedDim / visionHeads) % 4 !== 0) throw invalid(`${v}embed_dim`, `divided by num_heads ${visionHeads} must give a head size divisible by 4`, embedDim);
  const outHiddenSize = positiveInt(visionJson, 'hidden_size', QWEN2_VL_VISION_DEFAULTS.hidden_size, v);
  if (outHiddenSize !== hiddenSize) throw invalid(`${v}hidden_size`, `(the projector's output width) must equal text_config.hidden_size ${hiddenSize}`, outHiddenSize);

  const tokens = {
    bos: tokenId(text, 'bos_token_id', LLAMA_DEFAULTS.bos_token_id, t),
    eos: tokenId(text, 'eos_token_id', LLAMA_DEFAULTS.eos_token_id, t),
    pad: tokenId(text, 'pad_token_id', null, t),
    image: tokenId(config, 'image_token_index', SARASHINA_TOKEN_DEFAULTS.image_token_index, ''),
    imageStart: tokenId(config, 'start_image_token_index', SARASHINA_TOKEN_DEFAULTS.start_image_token_index, ''),
    imageEnd: tokenId(config, 'end_image_token_index', SARASHINA_TOKEN_DEFAULTS.end_image_token_index, ''),
  };
  for (const [key, id] of Object.entries(tokens)) {
    if (id !== null && id >= vocabSize) throw invalid(`token ${key}`, `must be below vocab_size ${vocabSize}`, id);
  }
  const { bos, eos, image, imageStart, imageEnd } = tokens;
  if (bos === null || eos === null || image === null || imageStart === null || imageEnd === null) throw invalid('token ids', 'bos, eos and the image tokens must not be null', tokens);
  const tie = text.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') throw invalid(`${t}tie_word_embeddings`, 'must be a boolean', tie);

  return {
    modelType: 'sarashina2_vision',
    vision: {
      depth: positiveInt(visionJson, 'depth', QWEN2_VL_VISION_DEFAULTS.depth, v),
      embedDim,
      numHeads: visionHeads,
      mlpDim,
      patchSize: positiveInt(visionJson, 'patch_size', QWEN2_VL_VISION_DEFAULTS.patch_size, v),
      temporalPatchSize: positiveInt(visionJson, 'temporal_patch_size', QWEN2_VL_VISION_DEFAULTS.temporal_patch_size, v),
      spatialMergeSize: positiveInt(visionJson, 'spatial_merge_size', QWEN2_VL_VISION_DEFAULTS.spatial_merge_size, v),
      inChannels: positiveInt(visionJson, 'in_channels', QWEN2_VL_VISION_DEFAULTS.in_channels, v),
      outHiddenSize,
      layerNormEps: VISION_LAYER_NORM_EPS,
      projectorNormEps: PROJECTOR_NORM_EPS,
      ropeTheta: VISION_ROPE_THETA,
    },
    text: {
      hiddenSize,
      intermediateSize: positiveInt(text, 'intermediate_size', LLAMA_DEFAULTS.intermediate_size, t),
      numLayers: positiveInt(text, 'num_hidden_layers', LLAMA_DEFAULTS.num_hidden_layers, t),
      numHeads,
      numKvHeads,
      headDim,
      vocabSize,
      maxPositionEmbeddings: positiveInt(text, 'max_position_embeddings', LLAMA_DEFAULTS.max_position_embeddings, t),
      rmsNormEps: positiveNumber(text, 'rms_norm_eps', LLAMA_DEFAULTS.rms_norm_eps, t),
      ropeTheta: ropeTheta(text),
      tieWordEmbeddings: tie,
    },
    tokens: { bos, eos, pad: tokens.pad, image, imageStart, imageEnd },
  };
}

/** PIL resampling codes as stored in preprocessor_config.json. */
const PIL_RESAMPLE: Record<number, ResampleFilter> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };

function triple(json: Json, key: string, fallback: readonly [number, number, number], positive: boolean): readonly [number, number, number] {
  const value = json[key];
  if (value === undefined || value === null) return fallback;
  const ok = Array.isArray(value) && value.length === 3 && value.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!ok) throw invalid(`preprocessor ${key}`, `must be 3 ${positive ? 'positive ' : ''}numbers`, value);
  return [value[0] as number, value[1] as number, value[2] as number];
}

function flag(json: Json, key: string, fallback: boolean): boolean {
  const value = json[key] ?? fallback;
  if (typeof value !== 'boolean') throw invalid(`preprocessor ${key}`, 'must be true or false', value);
  return value;
}

/** transformers' Qwen2-VL image processor classes (4.x slow = PIL; 5.x Pil, and the default name). */
const QWEN2_VL_TYPES = new Set(['Qwen2VLImageProcessor', 'Qwen2VLImageProcessorPil', 'Qwen2VLImageProcessorFast']);
/** The remote-code class of the Sarashina2-Vision repos (8B/14B and the 2.2 family share the name). */
const SARASHINA_TYPE = 'Sarashina2VisionImageProcessor';

export interface ImageProcessorChoice {
  /** The checkpoint's remote processor code (processing_sarashina2_vision.py and the like), when present. */
  readonly processorCode?: readonly { readonly file: string; readonly text: string }[];
  /** Overrides the choice (the exporter's --image-pipeline). */
  readonly pipeline?: ImagePipeline;
}

function noPipeline(type: string, why: string): SarashinaError {
  return new SarashinaError(
    'invalid-model',
    `preprocessor_config.json image_processor_type ${JSON.stringify(type)}: ${why} Export with --image-pipeline ` +
      `qwen2-vl (Pillow resize of the 8-bit image) or sarashina2.2 (normalize, then float bicubic resize) after ` +
      `checking which one the checkpoint's processing code does.`,
    { file: 'preprocessor_config.json', field: 'image_processor_type', actual: type },
  );
}

/**
 * Which image processor preprocessor_config.json names. Qwen2-VL classes (or no type: transformers'
 * default for this layout) → 'qwen2-vl'. `Sarashina2VisionImageProcessor` is remote code whose algorithm the
 * name does not tell (the 2.2 family resizes normalized floats with torch's F.interpolate; the 8B's code was
 * written for transformers 4.47's PIL path), so the checkpoint's processing code decides: an `interpolate(`
 * call → 'sarashina2.2', else a PIL `resample` → 'qwen2-vl'. Anything else is `invalid-model` naming the field.
 */
export function chooseImagePipeline(config: Json, choice: ImageProcessorChoice = {}): ImagePipeline {
  if (choice.pipeline !== undefined) return choice.pipeline;
  const type = config.image_processor_type ?? config.image_processor_class;
  if (type === undefined || type === null) return 'qwen2-vl';
  if (typeof type !== 'string') throw noPipeline(String(type), 'is not a class name.');
  if (QWEN2_VL_TYPES.has(type)) return 'qwen2-vl';
  if (type !== SARASHINA_TYPE) throw noPipeline(type, 'is not an image processor this engine implements (Qwen2VLImageProcessor, Sarashina2VisionImageProcessor).');
  const code = choice.processorCode ?? [];
  if (code.length === 0) {
    throw noPipeline(type, 'is remote code and the checkpoint has no processing_sarashina2_vision.py / image_processing_sarashina2_vision.py to tell which resize it does.');
  }
  const text = code.map((c) => c.text).join('\n');
  if (/\binterpolate\s*\(/.test(text)) return 'sarashina2.2';
  if (/\bresample\b/.test(text)) return 'qwen2-vl';
  throw noPipeline(type, `its code (${code.map((c) => c.file).join(', ')}) neither calls interpolate( nor uses resample.`);
}

/**
 * Parses preprocessor_config.json into an ImageProcessorSpec. Pixel bounds come from top-level
 * `min_pixels`/`max_pixels`, else `size.{min_pixels,max_pixels}`, else
 * `size.{shortest_edge,longest_edge}` (newer transformers), else the Qwen2-VL defaults. The pipeline is
 * chooseImagePipeline's.
 */
export function parseImageProcessorConfig(json: unknown, choice: ImageProcessorChoice = {}): ImageProcessorSpec {
  const config = object(json, 'preprocessor_config');
  const pipeline = chooseImagePipeline(config, choice);
  const d = QWEN2_VL_IMAGE_DEFAULTS;
  const size = config.size === undefined || config.size === null ? {} : object(config.size, 'preprocessor size');
  const pick = (...values: unknown[]): unknown => values.find((x) => x !== undefined && x !== null);
  const bounds = { min_pixels: pick(config.min_pixels, size.min_pixels, size.shortest_edge), max_pixels: pick(config.max_pixels, size.max_pixels, size.longest_edge) };
  const p = 'preprocessor ';
  const minPixels = positiveInt(bounds, 'min_pixels', d.minPixels, p);
  const maxPixels = positiveInt(bounds, 'max_pixels', d.maxPixels, p);
  if (minPixels > maxPixels) throw invalid(`${p}min_pixels`, `must not exceed max_pixels ${maxPixels}`, minPixels);
  let resample = d.resample;
  if (config.resample !== undefined && config.resample !== null) {
    const filter = typeof config.resample === 'number' ? PIL_RESAMPLE[config.resample] : undefined;
    if (!filter) throw invalid(`${p}resample`, 'must be a PIL code: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming', config.resample);
    resample = filter;
  }
  return {
    pipeline,
    minPixels,
    maxPixels,
    patchSize: positiveInt(config, 'patch_size', d.patchSize, p),
    temporalPatchSize: positiveInt(config, 'temporal_patch_size', d.temporalPatchSize, p),
    mergeSize: positiveInt(config, 'merge_size', d.mergeSize, p),
    imageMean: triple(config, 'image_mean', d.imageMean, false),
    imageStd: triple(config, 'image_std', d.imageStd, true),
    rescaleFactor: positiveNumber(config, 'rescale_factor', d.rescaleFactor, p),
    resample,
    doResize: flag(config, 'do_resize', d.doResize),
    doRescale: flag(config, 'do_rescale', d.doRescale),
    doNormalize: flag(config, 'do_normalize', d.doNormalize),
    doConvertRgb: flag(config, 'do_convert_rgb', d.doConvertRgb),
  };
}

/**
 * Cross-checks a checkpoint's tensors against `spec`: each expected tensor must exist with the
 * expected shape, and no other tensor may exist. Throws 'invalid-model' naming the tensor, the
 * expected and the actual shape.
 */
export function checkTensorShapes(spec: ModelSpec, tensors: ReadonlyMap<string, { readonly shape: readonly number[] }>): void {
  const expected = checkpointTensorShapes(spec);
  for (const [name, shape] of expected) {
    const actual = tensors.get(name);
    if (!actual) throw new SarashinaError('invalid-model', `The checkpoint lacks tensor ${name} (expected shape [${shape.join(', ')}] from config.json). Check that config.json belongs to these weights.`, { tensor: name, expected: [...shape] });
    if (actual.shape.length !== shape.length || actual.shape.some((d, i) => d !== shape[i])) {
      throw new SarashinaError('invalid-model', `Tensor ${name} has shape [${actual.shape.join(', ')}] but config.json implies [${shape.join(', ')}]. Check that config.json belongs to these weights.`, { tensor: name, expected: [...shape], actual: [...actual.shape] });
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) throw new SarashinaError('invalid-model', `The checkpoint has tensor ${name}, which a Sarashina2-Vision model with this config.json does not use. Check that config.json belongs to these weights.`, { tensor: name });
  }
}
