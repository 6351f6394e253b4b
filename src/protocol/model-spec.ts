/**
 * The model's dimensions and special tokens in our own camelCase terms. Built from Hugging Face's
 * config.json by src/convert/hf-config.ts (the only code that reads HF snake_case), stored in the package
 * manifest, and read by the engine. Every size of Sarashina2-Vision is one of these.
 */

export interface VisionSpec {
  /** Transformer blocks (Qwen2-VL-7B: 32). */
  readonly depth: number;
  /** Width of the blocks (1280). */
  readonly embedDim: number;
  readonly numHeads: number;
  /** MLP hidden width (embedDim · mlp_ratio = 5120). */
  readonly mlpDim: number;
  /** Pixels per patch side (14). */
  readonly patchSize: number;
  /** Frames per patch (2; a still image is duplicated). */
  readonly temporalPatchSize: number;
  /** Patches per merged token side (2). */
  readonly spatialMergeSize: number;
  readonly inChannels: number;
  /** PatchMerger output width = the decoder's hidden size (8B: 4096, 14B: 5120). */
  readonly outHiddenSize: number;
  /** eps of the blocks' and merger's LayerNorms (1e-6). */
  readonly layerNormEps: number;
  /** eps of Sarashina's extra LayerNorm after the merger (`norm.*`). */
  readonly projectorNormEps: number;
  /** RoPE base of the 2-D vision rotary embedding (10000). */
  readonly ropeTheta: number;
}

export interface TextSpec {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositionEmbeddings: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly tieWordEmbeddings: boolean;
}

export interface SpecialTokens {
  readonly bos: number;
  readonly eos: number;
  readonly pad: number | null;
  /** `<|file|>`: one copy per merged image token (14). */
  readonly image: number;
  /** `<|prefix|>` / `<|suffix|>` around each image's run (config start/end_image_token_index). */
  readonly imageStart: number;
  readonly imageEnd: number;
}

export interface ModelSpec {
  /** Hugging Face model_type, always 'sarashina2_vision'. */
  readonly modelType: 'sarashina2_vision';
  readonly vision: VisionSpec;
  readonly text: TextSpec;
  readonly tokens: SpecialTokens;
}

export type ResampleFilter = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';

/**
 * Which image processor the checkpoint's preprocessor_config.json names (src/convert/hf-config.ts chooses):
 * - 'qwen2-vl': transformers' Qwen2-VL PIL processor — Pillow resize of the uint8 image with `resample`
 *   (antialiased), then rescale and normalize;
 * - 'sarashina2.2': the Sarashina2.2-Vision processor — rescale and normalize first, then a float32 bicubic
 *   resize as torch's F.interpolate(mode="bicubic", align_corners=False) without antialias; `resample` unused.
 */
export type ImagePipeline = 'qwen2-vl' | 'sarashina2.2';
export const IMAGE_PIPELINES: readonly ImagePipeline[] = ['qwen2-vl', 'sarashina2.2'];

/** Image preprocessing, from preprocessor_config.json with Qwen2-VL defaults (src/convert/hf-config.ts). */
export interface ImageProcessorSpec {
  /** Absent in packages written before the Sarashina2.2 processor was supported: 'qwen2-vl'. */
  readonly pipeline?: ImagePipeline;
  readonly minPixels: number;
  readonly maxPixels: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly mergeSize: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly rescaleFactor: number;
  readonly resample: ResampleFilter;
  readonly doResize: boolean;
  readonly doRescale: boolean;
  readonly doNormalize: boolean;
  readonly doConvertRgb: boolean;
}

/** Qwen2-VL image-processor defaults (transformers), used for any key preprocessor_config.json omits. */
export const QWEN2_VL_IMAGE_DEFAULTS: ImageProcessorSpec = {
  pipeline: 'qwen2-vl',
  minPixels: 56 * 56,
  maxPixels: 28 * 28 * 1280,
  patchSize: 14,
  temporalPatchSize: 2,
  mergeSize: 2,
  imageMean: [0.48145466, 0.4578275, 0.40821073],
  imageStd: [0.26862954, 0.26130258, 0.27577711],
  rescaleFactor: 1 / 255,
  resample: 'bicubic',
  doResize: true,
  doRescale: true,
  doNormalize: true,
  doConvertRgb: true,
};
