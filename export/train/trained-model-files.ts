/**
 * The non-weight files of the trained default model (issue 8): config.json in the real diff format,
 * generation_config.json, a Qwen2-VL preprocessor_config.json whose pixel budget matches the training
 * images, and a Sarashina-layout Unigram tokenizer whose vocabulary is tuned to the shapes Q&A text.
 * The training script (train_shapes.py) reads these and adds model.safetensors.
 *
 * Tokenizer: the random generator's tiny tokenizer (same special-token and byte layout, same chat
 * template) with the answer and question words made pieces of their own. Words already in the
 * vocabulary get the domain score; missing ones replace the tail filler pieces, which no text uses.
 * Unigram picks the segmentation with the highest total score, so each domain word becomes one token.
 */
import { SarashinaError } from '../../src/protocol/errors';
import { generationConfigJson, preprocessorConfigJson } from '../random/random-presets';
import { toPythonJson } from '../random/python-json';
import { buildTokenizerFiles, type TokenizerFiles } from '../random/tokenizer-files';

/** Model sizes: every decoder and merger K dimension is a multiple of 32 (int4 block-32 packages). */
export const TRAINED_DIMS = {
  text: { hiddenSize: 256, intermediateSize: 768, numLayers: 4, numHeads: 4, vocabSize: 2048, maxPositionEmbeddings: 4096 },
  vision: { depth: 6, embedDim: 128, numHeads: 4, mlpRatio: 4 },
  imageStartId: 2045,
  imageEndId: 2046,
  /** 224×224: larger pictures are scaled down to the size the model was trained on (≤ 64 image tokens). */
  maxPixels: 50176,
} as const;

/** Higher than every generic piece of the tiny vocabulary (−4 and below), so domain words win. */
const DOMAIN_SCORE = -3;

/** Words of the questions and answers that should be single tokens. */
export const DOMAIN_PIECES: readonly string[] = [
  ...'赤 青 緑 黄色 黄 白 黒 赤い 青い 緑の 黄色い 白い 黒い 丸 四角 三角 星 左上 右上 左下 右下 中央 上 下 左 右 個'.split(' '),
  ...'です あります ありますか ですか 何色 何個 何の 図形 形 色 画像 説明 してください いくつ どこ 見えますか 簡単 について これは この は に の が を 、 。 ？'.split(' '),
  ...'What color is it the shape shapes circle square triangle star Where How many are there in picture at top bottom left right center There a and red blue green yellow white black Describe image do you see'
    .split(' ')
    .map((w) => `▁${w}`),
  ...'Red Blue Green Yellow White Black At A There What Where How Describe'.split(' ').flatMap((w) => [w, `▁${w}`]),
  ...'. , ? 1 2 3 ▁1 ▁2 ▁3'.split(' '),
  // Natural wordings (issue 16, shapes-phrasings.ts). Appended, so every earlier piece keeps its id.
  ...'位置 教えて 場所 どんな 円 って'.split(' '),
  ...'colour located this number can one Tell me which Which kind of Count'.split(' ').map((w) => `▁${w}`),
  ...'Tell Which Count'.split(' '),
  // Run 5's composed training wordings (shapes-phrasings.ts): openers and endings. Appended again; none occurs in a
  // held-out wording, so the held-out questions tokenize as in run 4.
  ...'すみません ねえ くれますか もらえますか 分かりますか あたり 数えて'.split(' '),
  ...'quick Quick know Hey hey drawn scene total does So Please Can Could Do'.split(' ').map((w) => `▁${w}`),
];

type VocabEntry = [string, number];

function tunedTokenizerJson(tokenizerJson: string): string {
  const tokenizer = JSON.parse(tokenizerJson) as { added_tokens: { id: number }[]; model: { vocab: VocabEntry[] } };
  const vocab = tokenizer.model.vocab;
  const reserved = new Set(tokenizer.added_tokens.map((t) => t.id));
  const idOf = new Map(vocab.map(([piece], id) => [piece, id]));
  const domain = new Set(DOMAIN_PIECES);
  // Filler pieces from the end of the vocabulary, never special, byte or domain pieces.
  const replaceable: number[] = [];
  for (let id = vocab.length - 1; id >= 0 && replaceable.length < DOMAIN_PIECES.length; id--) {
    const piece = vocab[id]?.[0] ?? '';
    if (!reserved.has(id) && !/^<0x[0-9A-F]{2}>$/.test(piece) && !domain.has(piece)) replaceable.push(id);
  }
  for (const piece of DOMAIN_PIECES) {
    const existing = idOf.get(piece);
    if (existing !== undefined) {
      vocab[existing] = [piece, DOMAIN_SCORE];
      continue;
    }
    const id = replaceable.shift();
    if (id === undefined) throw new SarashinaError('internal', `No filler piece left for domain piece ${JSON.stringify(piece)}: enlarge the vocabulary.`, { piece });
    vocab[id] = [piece, DOMAIN_SCORE];
  }
  return `${JSON.stringify(tokenizer)}\n`;
}

/** config.json of the trained model, in the real checkpoint's diff format (only non-default values). */
export function trainedConfigJson(): Record<string, unknown> {
  const { text, vision } = TRAINED_DIMS;
  return {
    architectures: ['Sarashina2VisionForCausalLM'],
    auto_map: {
      AutoConfig: 'configuration_sarashina2_vision.Sarashina2VisionConfig',
      AutoModelForCausalLM: 'modeling_sarashina2_vision.Sarashina2VisionForCausalLM',
    },
    end_image_token_index: TRAINED_DIMS.imageEndId,
    image_token_index: 14,
    model_type: 'sarashina2_vision',
    start_image_token_index: TRAINED_DIMS.imageStartId,
    text_config: {
      _name_or_path: 'sarashina-webgpu/shapes-small',
      architectures: ['LlamaForCausalLM'],
      hidden_size: text.hiddenSize,
      intermediate_size: text.intermediateSize,
      max_position_embeddings: text.maxPositionEmbeddings,
      model_type: 'llama',
      num_attention_heads: text.numHeads,
      num_hidden_layers: text.numLayers,
      num_key_value_heads: text.numHeads,
      rms_norm_eps: 1e-5,
      torch_dtype: 'bfloat16',
      vocab_size: text.vocabSize,
    },
    torch_dtype: 'bfloat16',
    transformers_version: '4.47.0',
    vision_config: {
      depth: vision.depth,
      embed_dim: vision.embedDim,
      hidden_size: text.hiddenSize,
      in_chans: 3,
      mlp_ratio: vision.mlpRatio,
      model_type: 'qwen2_vl',
      num_heads: vision.numHeads,
      spatial_patch_size: 14,
    },
  };
}

/** File name → text of every non-weight checkpoint file. */
export type TrainedModelFiles = Readonly<Record<'config.json' | 'generation_config.json' | 'preprocessor_config.json' | keyof TokenizerFiles, string>>;

/** Every non-weight file of the trained checkpoint, byte-identical on every run. */
export function trainedModelFiles(): TrainedModelFiles {
  const tokenizer = buildTokenizerFiles({ vocabSize: TRAINED_DIMS.text.vocabSize, imageStartId: TRAINED_DIMS.imageStartId, imageEndId: TRAINED_DIMS.imageEndId, seed: 8 });
  const preprocessor = { ...preprocessorConfigJson('tiny'), max_pixels: TRAINED_DIMS.maxPixels, size: { max_pixels: TRAINED_DIMS.maxPixels, min_pixels: 3136 } };
  return {
    'config.json': toPythonJson(trainedConfigJson()),
    'generation_config.json': toPythonJson(generationConfigJson()),
    'preprocessor_config.json': toPythonJson(preprocessor),
    ...tokenizer,
    'tokenizer.json': tunedTokenizerJson(tokenizer['tokenizer.json']),
  };
}
