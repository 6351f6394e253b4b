/**
 * The tokenizer files of the random checkpoint: a Sarashina-style SentencePiece Unigram tokenizer with byte
 * fallback, in Hugging Face layout (tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 * chat_template.json). Deterministic from the seed.
 *
 * Structure (facts from tokenizer.json files of SentencePiece-converted Unigram models; Sarashina's tokenizer
 * "does no Japanese pre-tokenization"): no normalizer; a Metaspace pre-tokenizer that only replaces " " with
 * "▁" (prepend_scheme "never", split false: no dummy prefix is added); a decoder Replace("▁"→" ") →
 * ByteFallback → Fuse; the Unigram model with unk_id 0 and byte_fallback. Id layout: the 15 Sarashina special
 * tokens, then `<0x00>`…`<0xFF>` from id 15, then ordinary pieces, with `<|prefix|>` / `<|suffix|>` at the ids
 * config.json names as the image start/end tokens. Newline and tab are not pieces: they take byte fallback.
 *
 * BOS: the chat template already emits `<s>`, so the tokenizer must not add one (add_bos_token false and no
 * post-processor); otherwise the prompt would start with a doubled `<s>`.
 */
import { SarashinaError } from '../../src/protocol/errors';
import { chatTemplateJsonText, SARASHINA_CHAT_TEMPLATE } from '../../src/processor/text/sarashina-chat-template';
import { CJK_BLOCK, FILLER_ALPHABETS, LATIN_FILLER_INDEX, PIECE_GROUPS } from './tokenizer-pieces';

export interface TokenizerFilesOptions {
  /** Total vocabulary size including special and byte tokens (tiny ≈ 2048, real 102400). */
  readonly vocabSize: number;
  /** Id of `<|prefix|>` (config.json start_image_token_index; real 102397). */
  readonly imageStartId: number;
  /** Id of `<|suffix|>` (config.json end_image_token_index; real 102398). */
  readonly imageEndId: number;
  readonly seed: number;
}

/** File name → file text, ready to be written into a checkpoint folder. */
export interface TokenizerFiles {
  readonly 'tokenizer.json': string;
  readonly 'tokenizer_config.json': string;
  readonly 'special_tokens_map.json': string;
  readonly 'chat_template.json': string;
}

/** Sarashina's first 15 ids (special, never split by the model). */
export const SARASHINA_SPECIAL_TOKENS = [
  '<unk>',
  '<s>',
  '</s>',
  '<pad>',
  '<sep>',
  '<mask>',
  '<cls>',
  '<|system|>',
  '<|assistant|>',
  '<|user|>',
  '<|available_tools|>',
  '<|tool_calls|>',
  '<|tool_results|>',
  '<|code|>',
  '<|file|>',
] as const;

/** Id of `<0x00>`; byte b is BYTE_TOKEN_BASE_ID + b. */
export const BYTE_TOKEN_BASE_ID = SARASHINA_SPECIAL_TOKENS.length;
const FIRST_ORDINARY_ID = BYTE_TOKEN_BASE_ID + 256;
/** Enough room for the specials, the bytes and a useful set of pieces. */
const MIN_VOCAB_SIZE = FIRST_ORDINARY_ID + 512;
const MAX_VOCAB_SIZE = 1 << 20;

const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** splitmix32: a small, well-mixed deterministic generator; returns floats in [0, 1). */
function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z = (z ^ (z >>> 15)) >>> 0;
    return z / 2 ** 32;
  };
}

function validate(options: TokenizerFilesOptions): void {
  const { vocabSize, imageStartId, imageEndId, seed } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < MIN_VOCAB_SIZE || vocabSize > MAX_VOCAB_SIZE) {
    throw new SarashinaError(
      'invalid-request',
      `vocabSize ${vocabSize} is not supported: use an integer from ${MIN_VOCAB_SIZE} to ${MAX_VOCAB_SIZE} ` +
        `(the real model has 102400).`,
      { field: 'vocabSize', actual: vocabSize },
    );
  }
  for (const [field, id] of [
    ['imageStartId', imageStartId],
    ['imageEndId', imageEndId],
  ] as const) {
    if (!Number.isInteger(id) || id < FIRST_ORDINARY_ID || id >= vocabSize) {
      throw new SarashinaError(
        'invalid-request',
        `${field} ${id} is outside the ordinary-piece ids ${FIRST_ORDINARY_ID}…${vocabSize - 1}: ` +
          `pass an id after the special and byte tokens (the real model uses vocabSize-3 / vocabSize-2).`,
        { field, actual: id },
      );
    }
  }
  if (imageStartId === imageEndId) {
    throw new SarashinaError('invalid-request', `imageStartId and imageEndId are both ${imageStartId}: use two ids.`, {
      field: 'imageEndId',
      actual: imageEndId,
    });
  }
  if (!Number.isInteger(seed)) {
    throw new SarashinaError('invalid-request', `seed ${seed} is not an integer: pass an integer seed.`, {
      field: 'seed',
      actual: seed,
    });
  }
}

/** Ordinary pieces with their log-probability scores, in id order, exactly `count` of them. */
function ordinaryPieces(count: number, seed: number): [string, number][] {
  const random = makeRandom(seed);
  const seen = new Set<string>();
  const out: [string, number][] = [];
  // Scores are rounded to 4 decimals so that the JSON text is short and identical in every JS engine.
  const score = (value: number): number => Math.round(value * 1e4) / 1e4;
  const add = (piece: string, value: number): void => {
    if (out.length >= count || seen.has(piece)) return;
    seen.add(piece);
    out.push([piece, score(value)]);
  };
  for (const group of PIECE_GROUPS) {
    group.pieces.forEach((piece, rank) => add(piece, group.baseScore - 0.6 * Math.log(1 + rank) - random()));
  }
  // Fill: alternate between the next CJK ideograph and a synthetic multi-character piece, so a small
  // vocabulary gets both, and a large one the whole CJK block.
  let cjk: number = CJK_BLOCK.first;
  let rank = 0;
  while (out.length < count) {
    rank++;
    if (cjk <= CJK_BLOCK.last) add(String.fromCodePoint(cjk++), -11 - 0.2 * Math.log(rank) - 2 * random());
    const alphabetIndex = Math.floor(random() * FILLER_ALPHABETS.length);
    const alphabet = FILLER_ALPHABETS[alphabetIndex] ?? [];
    const length = 2 + Math.floor(random() * 3);
    // Latin filler sometimes starts a word, as SentencePiece pieces do.
    let piece = alphabetIndex === LATIN_FILLER_INDEX && random() < 0.5 ? '▁' : '';
    for (let i = 0; i < length; i++) piece += alphabet[Math.floor(random() * alphabet.length)] ?? '';
    add(piece, -10 - 0.3 * Math.log(rank) - 3 * random());
  }
  return out;
}

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: false;
  lstrip: false;
  rstrip: false;
  normalized: false;
  special: true;
}

/**
 * Builds the tokenizer files of a Sarashina-style tokenizer. Contract: `vocabSize` entries exactly, ids as in
 * the module comment, same bytes for the same options. Throws `SarashinaError('invalid-request')` for a
 * vocabSize outside 783…1048576 or image ids that collide with the special/byte tokens or each other.
 */
export function buildTokenizerFiles(options: TokenizerFilesOptions): TokenizerFiles {
  validate(options);
  const { vocabSize, imageStartId, imageEndId, seed } = options;
  const vocab: ([string, number] | undefined)[] = Array.from({ length: vocabSize }, () => undefined);
  const added: AddedTokenJson[] = [];
  const addSpecial = (id: number, content: string): void => {
    vocab[id] = [content, 0];
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  };
  SARASHINA_SPECIAL_TOKENS.forEach((content, id) => addSpecial(id, content));
  for (let b = 0; b < 256; b++) vocab[BYTE_TOKEN_BASE_ID + b] = [byteToken(b), 0];
  addSpecial(imageStartId, '<|prefix|>');
  addSpecial(imageEndId, '<|suffix|>');
  // The real vocabulary also has the third fill-in-the-middle token; give it the last id when that is free.
  if (vocab[vocabSize - 1] === undefined) addSpecial(vocabSize - 1, '<|middle|>');
  added.sort((a, b) => a.id - b.id);

  const free = vocab.filter((entry) => entry === undefined).length;
  const pieces = ordinaryPieces(free, seed);
  let next = 0;
  for (let id = 0; id < vocabSize; id++) {
    if (vocab[id] === undefined) vocab[id] = pieces[next++];
  }

  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: false },
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
      ],
    },
    model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: true },
  };

  const addedTokensDecoder: Record<string, Omit<AddedTokenJson, 'id'>> = {};
  for (const { id, ...rest } of added) addedTokensDecoder[String(id)] = rest;
  const roles = {
    bos_token: '<s>',
    cls_token: '<cls>',
    eos_token: '</s>',
    mask_token: '<mask>',
    pad_token: '<pad>',
    sep_token: '<sep>',
    unk_token: '<unk>',
  };
  const tokenizerConfig = {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: addedTokensDecoder,
    ...roles,
    clean_up_tokenization_spaces: false,
    model_max_length: 4096,
    padding_side: 'left',
    // The tokenizer.json above is complete; this class loads it as is (a Llama class would rebuild it).
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  const specialTokensMap = Object.fromEntries(
    Object.entries(roles).map(([role, content]) => [
      role,
      { content, lstrip: false, normalized: false, rstrip: false, single_word: false },
    ]),
  );

  return {
    'tokenizer.json': `${JSON.stringify(tokenizer)}\n`,
    'tokenizer_config.json': `${JSON.stringify(tokenizerConfig, null, 2)}\n`,
    'special_tokens_map.json': `${JSON.stringify(specialTokensMap, null, 2)}\n`,
    'chat_template.json': chatTemplateJsonText(SARASHINA_CHAT_TEMPLATE),
  };
}
