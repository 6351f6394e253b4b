/**
 * The model's tokenizer, built from the package's tokenizer.json + tokenizer_config.json. Encoding runs on
 * `@huggingface/tokenizers` (added-token splitting, pre-tokenizer, Unigram Viterbi, post-processor), plus
 * the one thing that library's Unigram lacks: `byte_fallback` (a character with no piece becomes its UTF-8
 * bytes `<0xNN>` instead of `<unk>`, as in Rust `tokenizers`). Decoding is our own (piece-decoder.ts) so that
 * it matches the Rust decoder exactly, including invalid byte runs, and streams.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { SarashinaError } from '../../protocol/errors';
import { PieceDecoder, parsePieceDecoderPlan, type PieceDecoderPlan } from './piece-decoder';
import { cleanUpTokenizationSpaces } from './tokenizer-config';

export interface TextTokenizerFiles {
  /** Parsed tokenizer.json. */
  readonly tokenizerJson: unknown;
  /**
   * Parsed tokenizer_config.json as transformers ends up with it (effectiveTokenizerConfig): role tokens,
   * model_max_length, clean_up_tokenization_spaces. add_bos_token / add_eos_token are not read: with a
   * tokenizer.json, transformers 5 drops them and its post-processor decides (tokenizer-config.ts).
   */
  readonly tokenizerConfig: unknown;
}

export interface EncodeOptions {
  /** Apply the tokenizer's post-processor, as Hugging Face `tokenizer(text)` does by default. Default true. */
  readonly addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (`<s>`, `</s>`, `<|file|>`, …) like `decode(ids, skip_special_tokens=True)`. */
  readonly skipSpecialTokens?: boolean;
  /** transformers' `clean_up_tokenization_spaces`; default: tokenizer_config.json's value (false when absent). */
  readonly cleanUpTokenizationSpaces?: boolean;
}

type Json = Record<string, unknown>;
const utf8Encoder = new TextEncoder();
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;

function invalidModel(message: string, field: string, actual: string | number | null): SarashinaError {
  return new SarashinaError('invalid-model', message, { field, actual });
}

/** A role token in tokenizer_config.json is a string or an AddedToken object `{content}`. */
function roleToken(config: Json, key: string): string | null {
  const value = config[key];
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return null;
}

export class TextTokenizer {
  /** Piece text per id (model vocabulary and added tokens). */
  readonly pieces: readonly string[];
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** tokenizer_config.json `clean_up_tokenization_spaces` (false when absent, as in transformers 5). */
  readonly cleanUpSpaces: boolean;
  /** tokenizer_config.json model_max_length, when it is a sane number. */
  readonly modelMaxLength: number | null;
  /** Role tokens for chat templates (`bos_token`, `eos_token`, …), as Hugging Face passes them. */
  readonly templateTokens: Readonly<Record<string, string>>;
  private readonly inner: Tokenizer;
  private readonly specialIds: ReadonlySet<number>;
  private readonly ids: ReadonlyMap<string, number>;
  private readonly unkId: number;
  private readonly byteFallbackIds: readonly number[] | null;
  private readonly decoderPlan: PieceDecoderPlan;

  private constructor(tokenizerJson: Json, config: Json) {
    const model = tokenizerJson.model;
    if (!isObject(model) || model.type !== 'Unigram' || !Array.isArray(model.vocab)) {
      throw invalidModel(
        `tokenizer.json model is ${isObject(model) ? String(model.type) : 'missing'}, expected a Unigram model ` +
          `with a vocab: Sarashina's tokenizer is a SentencePiece Unigram; check the package's tokenizer.json.`,
        'model.type',
        isObject(model) ? String(model.type) : null,
      );
    }
    try {
      this.inner = new Tokenizer(tokenizerJson, config);
    } catch (cause) {
      throw new SarashinaError(
        'invalid-model',
        `tokenizer.json could not be loaded (${String(cause)}): check that the package's tokenizer files are intact.`,
        { field: 'tokenizer.json' },
        { cause },
      );
    }
    const pieces: string[] = model.vocab.map((entry: unknown, id: number) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') {
        throw invalidModel(`tokenizer.json vocab entry ${id} is not [piece, score]: fix the file.`, 'model.vocab', id);
      }
      return entry[0];
    });
    const specialIds = new Set<number>();
    for (const added of Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : []) {
      if (!isObject(added) || typeof added.id !== 'number' || typeof added.content !== 'string') continue;
      pieces[added.id] = added.content;
      if (added.special === true) specialIds.add(added.id);
    }
    // transformers adds tokenizer_config.json's added_tokens_decoder entries that tokenizer.json lacks; we read
    // tokenizer.json alone, so such a pair of files is refused rather than encoded differently.
    const declared = isObject(config.added_tokens_decoder) ? config.added_tokens_decoder : {};
    for (const [key, token] of Object.entries(declared)) {
      const content = isObject(token) ? token.content : token;
      if (typeof content === 'string' && pieces[Number(key)] !== content) {
        throw new SarashinaError(
          'invalid-model',
          `tokenizer_config.json added_tokens_decoder has ${JSON.stringify(content)} at id ${key} but tokenizer.json has ` +
            `${JSON.stringify(pieces[Number(key)] ?? null)} there: the two files come from different tokenizers; use the checkpoint's own pair.`,
          { file: 'tokenizer_config.json', field: `added_tokens_decoder.${key}`, expected: content, actual: pieces[Number(key)] ?? null },
        );
      }
    }
    this.pieces = pieces;
    this.specialIds = specialIds;
    this.ids = new Map(pieces.map((piece, id) => [piece, id]));
    this.unkId = typeof model.unk_id === 'number' ? model.unk_id : 0;
    this.byteFallbackIds = model.byte_fallback === true ? this.findByteIds() : null;
    this.decoderPlan = parsePieceDecoderPlan(tokenizerJson.decoder);

    this.bosToken = roleToken(config, 'bos_token');
    this.eosToken = roleToken(config, 'eos_token');
    this.bosId = this.bosToken === null ? null : (this.ids.get(this.bosToken) ?? null);
    this.eosId = this.eosToken === null ? null : (this.ids.get(this.eosToken) ?? null);
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;
    const maxLength = config.model_max_length;
    this.modelMaxLength = typeof maxLength === 'number' && maxLength > 0 && maxLength < 1e9 ? maxLength : null;
    const templateTokens: Record<string, string> = {};
    for (const key of ['bos', 'eos', 'unk', 'pad', 'sep', 'cls', 'mask']) {
      const token = roleToken(config, `${key}_token`);
      if (token !== null) templateTokens[`${key}_token`] = token;
    }
    this.templateTokens = templateTokens;
  }

  /**
   * Builds the tokenizer. Throws `SarashinaError('invalid-model')` when tokenizer.json is not a Unigram
   * model, its decoder is not SentencePiece-style, or byte fallback is on but `<0x00>`…`<0xFF>` are missing.
   */
  static fromFiles(files: TextTokenizerFiles): TextTokenizer {
    if (!isObject(files.tokenizerJson)) {
      throw invalidModel('tokenizer.json is not a JSON object: check the package files.', 'tokenizer.json', null);
    }
    const config = isObject(files.tokenizerConfig) ? files.tokenizerConfig : {};
    return new TextTokenizer(files.tokenizerJson, config);
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Id of a piece or added token, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Token ids of `text`, identical to Hugging Face `tokenizer(text)["input_ids"]` (Rust tokenizers). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const encoding = this.inner.encode(text, { add_special_tokens: addSpecialTokens });
    const ids: number[] = [];
    encoding.ids.forEach((id, i) => {
      const token = encoding.tokens[i] ?? '';
      // The JS Unigram maps a character without a piece to <unk>; Rust with byte_fallback emits its bytes.
      if (id === this.unkId && this.byteFallbackIds !== null && token !== this.pieces[this.unkId]) {
        for (const byte of utf8Encoder.encode(token)) ids.push(this.byteFallbackIds[byte] ?? this.unkId);
      } else {
        ids.push(id);
      }
    });
    return ids;
  }

  /**
   * Ids of a rendered chat prompt, as transformers' `processor.apply_chat_template(..., tokenize=True)` makes them:
   * a prompt that starts with the BOS token (the template wrote it) is encoded without the post-processor's
   * special tokens, so `<s>` is never doubled; any other prompt as `tokenizer(text)`.
   */
  encodePrompt(text: string): number[] {
    const startsWithBos = this.bosToken !== null && text.startsWith(this.bosToken);
    return this.encode(text, { addSpecialTokens: !startsWithBos });
  }

  /** Text of `ids`, identical to Hugging Face `decode(ids, skip_special_tokens, clean_up_tokenization_spaces)`. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const decoder = this.createPieceDecoder();
    let text = '';
    for (const id of ids) {
      if (options.skipSpecialTokens === true && this.specialIds.has(id)) continue;
      text += decoder.push(this.pieceOf(id));
    }
    text += decoder.finish();
    return (options.cleanUpTokenizationSpaces ?? this.cleanUpSpaces) ? cleanUpTokenizationSpaces(text) : text;
  }

  /** The piece of `id`; throws `SarashinaError('invalid-request')` for an id outside the vocabulary. */
  pieceOf(id: number): string {
    const piece = this.pieces[id];
    if (piece === undefined) {
      throw new SarashinaError(
        'invalid-request',
        `token id ${id} is outside the vocabulary 0…${this.pieces.length - 1}: the ids do not belong to this ` +
          `tokenizer (check that the model and tokenizer come from the same package).`,
        { field: 'id', actual: id },
      );
    }
    return piece;
  }

  /** A fresh incremental decoder for this tokenizer's decoder plan. */
  createPieceDecoder(): PieceDecoder {
    return new PieceDecoder(this.decoderPlan);
  }

  private findByteIds(): number[] {
    const byteIds: number[] = [];
    for (let b = 0; b < 256; b++) {
      const piece = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      const id = this.ids.get(piece);
      if (id === undefined) {
        throw invalidModel(
          `tokenizer.json has byte_fallback but no piece ${piece}: the byte tokens <0x00>…<0xFF> must all exist.`,
          'model.vocab',
          piece,
        );
      }
      byteIds.push(id);
    }
    return byteIds;
  }
}
