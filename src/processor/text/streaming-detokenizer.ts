/**
 * Streaming detokenizer: ids in, text deltas out. A delta never holds half a UTF-8 character (byte-fallback
 * pieces are held until their run ends) and the concatenation of all deltas plus `finish()` equals
 * `tokenizer.decode(ids, {skipSpecialTokens, cleanUpTokenizationSpaces})` exactly, because both run the same piece
 * decoder; with clean-up on, a tail that may begin a clean-up pattern (" ", " '", " n", …) waits for the next id.
 */
import type { PieceDecoder } from './piece-decoder';
import type { TextTokenizer } from './text-tokenizer';
import { CLEAN_UP_PATTERNS, cleanUpTokenizationSpaces } from './tokenizer-config';

export interface StreamingDetokenizerOptions {
  /** Skip special tokens, as `decode(…, skip_special_tokens=True)`. Default true. */
  readonly skipSpecialTokens?: boolean;
  /** As `decode(…, clean_up_tokenization_spaces)`; default: the tokenizer's tokenizer_config.json value. */
  readonly cleanUpTokenizationSpaces?: boolean;
}

/** Longest tail of `text` that is a proper prefix of a clean-up pattern (0 when none). */
function cleanUpHold(text: string): number {
  for (let n = Math.min(3, text.length); n > 0; n--) {
    const tail = text.slice(text.length - n);
    if (CLEAN_UP_PATTERNS.some((p) => p.length > n && p.startsWith(tail))) return n;
  }
  return 0;
}

export class StreamingDetokenizer {
  private readonly tokenizer: TextTokenizer;
  private readonly decoder: PieceDecoder;
  private readonly skipSpecialTokens: boolean;
  private readonly cleanUp: boolean;
  private pending = '';

  constructor(tokenizer: TextTokenizer, options: StreamingDetokenizerOptions = {}) {
    this.tokenizer = tokenizer;
    this.decoder = tokenizer.createPieceDecoder();
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
    this.cleanUp = options.cleanUpTokenizationSpaces ?? tokenizer.cleanUpSpaces;
  }

  /** Text made final by `id` (possibly ""). Throws `SarashinaError('invalid-request')` for an unknown id. */
  push(id: number): string {
    const piece = this.tokenizer.pieceOf(id);
    if (this.skipSpecialTokens && this.tokenizer.isSpecial(id)) return '';
    return this.release(this.decoder.push(piece), false);
  }

  /** The text still held back (an unfinished byte run); call once at the end of generation. */
  finish(): string {
    return this.release(this.decoder.finish(), true);
  }

  private release(delta: string, end: boolean): string {
    if (!this.cleanUp) return delta;
    const text = this.pending + delta;
    const hold = end ? 0 : cleanUpHold(text);
    this.pending = text.slice(text.length - hold);
    return cleanUpTokenizationSpaces(text.slice(0, text.length - hold));
  }
}
