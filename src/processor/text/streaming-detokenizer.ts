/**
 * Streaming detokenizer: ids in, text deltas out. A delta never holds half a UTF-8 character (byte-fallback
 * pieces are held until their run ends) and the concatenation of all deltas plus `finish()` equals
 * `tokenizer.decode(ids, {skipSpecialTokens})` exactly, because both run the same piece decoder.
 */
import type { PieceDecoder } from './piece-decoder';
import type { TextTokenizer } from './text-tokenizer';

export interface StreamingDetokenizerOptions {
  /** Skip special tokens, as `decode(…, skip_special_tokens=True)`. Default true. */
  readonly skipSpecialTokens?: boolean;
}

export class StreamingDetokenizer {
  private readonly tokenizer: TextTokenizer;
  private readonly decoder: PieceDecoder;
  private readonly skipSpecialTokens: boolean;

  constructor(tokenizer: TextTokenizer, options: StreamingDetokenizerOptions = {}) {
    this.tokenizer = tokenizer;
    this.decoder = tokenizer.createPieceDecoder();
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
  }

  /** Text made final by `id` (possibly ""). Throws `SarashinaError('invalid-request')` for an unknown id. */
  push(id: number): string {
    const piece = this.tokenizer.pieceOf(id);
    if (this.skipSpecialTokens && this.tokenizer.isSpecial(id)) return '';
    return this.decoder.push(piece);
  }

  /** The text still held back (an unfinished byte run); call once at the end of generation. */
  finish(): string {
    return this.decoder.finish();
  }
}
