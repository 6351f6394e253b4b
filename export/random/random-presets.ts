/**
 * The random checkpoint's size presets and the non-weight files they imply: config.json in the
 * real diff format (only what differs from the LlamaConfig / Qwen2VLVisionConfig defaults),
 * generation_config.json and a Qwen2-VL-style preprocessor_config.json.
 */

export type RandomPreset = 'tiny' | 'odd' | '8b' | '14b';

export interface PresetDims {
  readonly text: { readonly hiddenSize: number; readonly intermediateSize: number; readonly numLayers: number; readonly numHeads: number; readonly vocabSize: number; readonly maxPositionEmbeddings: number };
  readonly vision: { readonly depth: number; readonly embedDim: number; readonly numHeads: number; readonly mlpRatio: number };
  readonly imageStartId: number;
  readonly imageEndId: number;
  readonly maxPixels: number;
  /** Largest shard in bytes; null writes one model.safetensors. */
  readonly maxShardBytes: number | null;
}

/** Hugging Face's default `max_shard_size` ("5GB", decimal). */
const FIVE_GB = 5_000_000_000;

export const PRESETS: Readonly<Record<RandomPreset, PresetDims>> = {
  // Every decoder K dimension (64, 160) and the merger's (256) is a multiple of 32 for int4 block-32.
  tiny: {
    text: { hiddenSize: 64, intermediateSize: 160, numLayers: 2, numHeads: 4, vocabSize: 2048, maxPositionEmbeddings: 4096 },
    vision: { depth: 2, embedDim: 64, numHeads: 4, mlpRatio: 2 },
    imageStartId: 2045,
    imageEndId: 2046,
    maxPixels: 200704,
    maxShardBytes: null,
  },
  // Sizes off every power of two wherever the engine's runtimes allow it, so no kernel or graph can lean on
  // multiples of 32 (the int4 block) or on powers of two: int4 K = 144 and 212 (partial last blocks of 16 and 20),
  // 3 text heads of 48, vocab 1000 (ids 997/998 for the image start/end), 3 vision heads of 40, vision width 120
  // and MLP 120 · 2 = 240 (Qwen2VLVisionBlock: int(embed_dim * mlp_ratio); transformers 5.17's config dataclass
  // takes only an integer mlp_ratio — 2.5 failed its validation on the GPU machine). The text head size is a multiple
  // of 16 because onnxruntime-web's GroupQueryAttention with its rotary (prefill) needs one (measured: "head_size
  // must be a multiple of 8" at 18, "shall be a multiple of 16" at 24); our vision attention needs a multiple of 8.
  // The merger's 4 · embed_dim is then a multiple of 32 too.
  odd: {
    text: { hiddenSize: 144, intermediateSize: 212, numLayers: 2, numHeads: 3, vocabSize: 1000, maxPositionEmbeddings: 4096 },
    vision: { depth: 2, embedDim: 120, numHeads: 3, mlpRatio: 2 },
    imageStartId: 997,
    imageEndId: 998,
    maxPixels: 200704,
    maxShardBytes: null,
  },
  '8b': {
    text: { hiddenSize: 4096, intermediateSize: 11008, numLayers: 32, numHeads: 32, vocabSize: 102400, maxPositionEmbeddings: 4096 },
    vision: { depth: 32, embedDim: 1280, numHeads: 16, mlpRatio: 4 },
    imageStartId: 102397,
    imageEndId: 102398,
    maxPixels: 802816,
    maxShardBytes: FIVE_GB,
  },
  '14b': {
    text: { hiddenSize: 5120, intermediateSize: 13824, numLayers: 40, numHeads: 40, vocabSize: 102400, maxPositionEmbeddings: 4096 },
    vision: { depth: 32, embedDim: 1280, numHeads: 16, mlpRatio: 4 },
    imageStartId: 102397,
    imageEndId: 102398,
    maxPixels: 802816,
    maxShardBytes: FIVE_GB,
  },
};

const NAME_OR_PATH: Readonly<Record<RandomPreset, string>> = {
  tiny: 'random/sarashina2-tiny',
  odd: 'random/sarashina2-odd',
  '8b': 'sbintuitions/sarashina2-7b',
  '14b': 'sbintuitions/sarashina2-13b',
};

/** True when `value` names a preset. */
export function isRandomPreset(value: unknown): value is RandomPreset {
  return value === 'tiny' || value === 'odd' || value === '8b' || value === '14b';
}

/**
 * Fewer layers than the preset has, everything else as it is: a full-width checkpoint small enough to export and run
 * on one machine in minutes (bench/gpu/fidelity.sh). config.json then lists the changed count — the only field that
 * differs from the preset's file.
 */
export interface DepthOverride {
  /** Decoder layers (text_config.num_hidden_layers). */
  readonly textLayers?: number;
  /** Vision blocks (vision_config.depth). */
  readonly visionDepth?: number;
}

/**
 * config.json content for `preset`. 8b is the real sarashina2-vision-8b file; 14b adds the
 * Sarashina2-13B text sizes and the 5120 projector width; tiny and odd list every non-default size.
 * `depth` (optional) lowers the layer counts, adding them to the file where the preset leaves them to the defaults.
 */
export function presetConfigJson(preset: RandomPreset, depth: DepthOverride = {}): Record<string, unknown> {
  const dims = PRESETS[preset];
  const text: Record<string, unknown> = {
    _name_or_path: NAME_OR_PATH[preset],
    architectures: ['LlamaForCausalLM'],
    max_position_embeddings: dims.text.maxPositionEmbeddings,
    model_type: 'llama',
    rms_norm_eps: 1e-5,
    torch_dtype: 'bfloat16',
    vocab_size: dims.text.vocabSize,
  };
  const vision: Record<string, unknown> = { hidden_size: dims.text.hiddenSize, in_chans: 3, model_type: 'qwen2_vl', spatial_patch_size: 14 };
  if (preset !== '8b') {
    // 8b matches every LlamaConfig default, so the real file omits these; the others must list them.
    Object.assign(text, {
      hidden_size: dims.text.hiddenSize,
      intermediate_size: dims.text.intermediateSize,
      num_attention_heads: dims.text.numHeads,
      num_hidden_layers: dims.text.numLayers,
      num_key_value_heads: dims.text.numHeads,
    });
  }
  if (preset === 'tiny' || preset === 'odd') {
    Object.assign(vision, { depth: dims.vision.depth, embed_dim: dims.vision.embedDim, mlp_ratio: dims.vision.mlpRatio, num_heads: dims.vision.numHeads });
  }
  if (depth.textLayers !== undefined) text.num_hidden_layers = depth.textLayers;
  if (depth.visionDepth !== undefined) vision.depth = depth.visionDepth;
  return {
    architectures: ['Sarashina2VisionForCausalLM'],
    auto_map: {
      AutoConfig: 'configuration_sarashina2_vision.Sarashina2VisionConfig',
      AutoModelForCausalLM: 'modeling_sarashina2_vision.Sarashina2VisionForCausalLM',
    },
    end_image_token_index: dims.imageEndId,
    image_token_index: 14,
    model_type: 'sarashina2_vision',
    start_image_token_index: dims.imageStartId,
    text_config: text,
    torch_dtype: 'bfloat16',
    transformers_version: '4.47.0',
    vision_config: vision,
  };
}

/** generation_config.json as the real checkpoint has it. */
export function generationConfigJson(): Record<string, unknown> {
  return { _from_model_config: true, bos_token_id: 1, eos_token_id: 2, transformers_version: '4.47.0' };
}

/** preprocessor_config.json in the transformers-4.47 Qwen2-VL layout (bounds both top-level and in `size`). */
export function preprocessorConfigJson(preset: RandomPreset): Record<string, unknown> {
  const minPixels = 3136;
  const maxPixels = PRESETS[preset].maxPixels;
  return {
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: 'Qwen2VLImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711],
    max_pixels: maxPixels,
    merge_size: 2,
    min_pixels: minPixels,
    patch_size: 14,
    resample: 3,
    rescale_factor: 1 / 255,
    size: { max_pixels: maxPixels, min_pixels: minPixels },
    temporal_patch_size: 2,
  };
}
