/**
 * Turns token pieces back into text exactly as the Hugging Face `tokenizers` (Rust) decoder of a
 * SentencePiece-converted tokenizer does, one piece at a time, so that streaming and whole-sequence decoding
 * share one implementation (their outputs are equal by construction).
 *
 * Supported tokenizer.json decoders (the forms SentencePiece converters write): a `Sequence` of
 * `Replace` (string pattern), `ByteFallback`, `Fuse` and `Strip` (leading only), or a `Metaspace` decoder
 * with prepend_scheme "never". Rust semantics kept: a run of consecutive byte pieces `<0xNN>` is decoded as a
 * whole; if it is not valid UTF-8, every byte of the run becomes U+FFFD.
 */
import { SarashinaError } from '../../protocol/errors';

/** What the decoder does, reduced to the operations SentencePiece decoders use. */
export interface PieceDecoderPlan {
  /** Applied to every non-byte piece, in order (e.g. "▁" → " "). */
  readonly replacements: readonly (readonly [from: string, to: string])[];
  readonly byteFallback: boolean;
  /** Strip up to this many leading `stripContent` characters from the start of the whole text. */
  readonly stripLeading: number;
  readonly stripContent: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;

function unsupported(what: string, value: unknown): SarashinaError {
  return new SarashinaError(
    'invalid-model',
    `tokenizer.json decoder ${what} is not supported (got ${JSON.stringify(value)}): this engine reads ` +
      `SentencePiece-style decoders (Sequence of Replace/ByteFallback/Fuse/Strip, or Metaspace); ` +
      `re-export the tokenizer from the model's tokenizer.model with transformers.`,
    { field: 'decoder', actual: JSON.stringify(value).slice(0, 200) },
  );
}

/** Reads the `decoder` object of tokenizer.json. Throws `SarashinaError('invalid-model')` for other forms. */
export function parsePieceDecoderPlan(decoder: unknown): PieceDecoderPlan {
  const replacements: [string, string][] = [];
  let byteFallback = false;
  let stripLeading = 0;
  let stripContent = ' ';
  const steps = isObject(decoder) && decoder.type === 'Sequence' ? decoder.decoders : [decoder];
  if (!Array.isArray(steps)) throw unsupported('sequence', decoder);
  for (const step of steps) {
    if (!isObject(step)) throw unsupported('step', step);
    switch (step.type) {
      case 'Replace': {
        const pattern = step.pattern;
        if (!isObject(pattern) || typeof pattern.String !== 'string' || typeof step.content !== 'string') {
          throw unsupported('Replace pattern', step);
        }
        replacements.push([pattern.String, step.content]);
        break;
      }
      case 'ByteFallback':
        byteFallback = true;
        break;
      case 'Fuse':
        break;
      case 'Strip': {
        const content = step.content;
        if (step.stop !== 0 || typeof step.start !== 'number' || typeof content !== 'string' || content.length !== 1) {
          throw unsupported('Strip', step);
        }
        stripLeading = step.start;
        stripContent = content;
        break;
      }
      case 'Metaspace': {
        const scheme = step.prepend_scheme;
        if (scheme !== 'never' || typeof step.replacement !== 'string') throw unsupported('Metaspace', step);
        replacements.push([step.replacement, ' ']);
        break;
      }
      default:
        throw unsupported(`type ${String(step.type)}`, step);
    }
  }
  return { replacements, byteFallback, stripLeading, stripContent };
}

/** `<0xNN>` → NN, else null (the test the Rust ByteFallback decoder makes). */
export function byteOfPiece(piece: string): number | null {
  if (piece.length !== 6 || !piece.startsWith('<0x') || !piece.endsWith('>')) return null;
  const hex = piece.slice(3, 5);
  return /^[0-9A-Fa-f]{2}$/.test(hex) ? Number.parseInt(hex, 16) : null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Incremental decoder state. `push(piece)` returns the text that is final after that piece; byte pieces are
 * held until their run ends (a later invalid byte would turn the whole run into U+FFFD), so no partial UTF-8
 * character is ever returned. `finish()` flushes the held run.
 */
export class PieceDecoder {
  private readonly plan: PieceDecoderPlan;
  private pendingBytes: number[] = [];
  private stripBudget: number;

  constructor(plan: PieceDecoderPlan) {
    this.plan = plan;
    this.stripBudget = plan.stripLeading;
  }

  /** True while byte pieces are held back waiting for the end of their run. */
  get holdsBytes(): boolean {
    return this.pendingBytes.length > 0;
  }

  push(piece: string): string {
    if (this.plan.byteFallback) {
      const byte = byteOfPiece(piece);
      if (byte !== null) {
        this.pendingBytes.push(byte);
        return '';
      }
    }
    let text = piece;
    for (const [from, to] of this.plan.replacements) text = text.replaceAll(from, to);
    return this.strip(this.flushBytes() + text);
  }

  finish(): string {
    return this.strip(this.flushBytes());
  }

  private flushBytes(): string {
    if (this.pendingBytes.length === 0) return '';
    const bytes = Uint8Array.from(this.pendingBytes);
    this.pendingBytes = [];
    try {
      return utf8.decode(bytes);
    } catch {
      return '\uFFFD'.repeat(bytes.length);
    }
  }

  private strip(text: string): string {
    let out = text;
    while (this.stripBudget > 0 && out.length > 0) {
      if (!out.startsWith(this.plan.stripContent)) {
        this.stripBudget = 0;
        break;
      }
      out = out.slice(this.plan.stripContent.length);
      this.stripBudget--;
    }
    return out;
  }
}
