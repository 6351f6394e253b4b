/**
 * Generated ids → visible text: streaming detokenizer, then stop strings, plus EOS. Tells the generation loop
 * when to stop and why.
 */
import { StopStringMatcher, DEFAULT_STOP_STRINGS } from './stop-string-matcher';
import { StreamingDetokenizer } from './streaming-detokenizer';
import type { TextTokenizer } from './text-tokenizer';

export type StopReason = { readonly kind: 'eos'; readonly tokenId: number } | { readonly kind: 'stop-string'; readonly value: string };

export interface OutputTextStreamOptions {
  /** Default `["\n###"]`. */
  readonly stopStrings?: readonly string[];
  /** Ids that end generation (default: the tokenizer's EOS). */
  readonly eosIds?: readonly number[];
}

export interface OutputStep {
  /** Text to show now (possibly ""). */
  readonly text: string;
  /** Set when generation must stop; `text` then already holds everything there is to show. */
  readonly stop: StopReason | null;
}

export class OutputTextStream {
  private readonly detokenizer: StreamingDetokenizer;
  private readonly matcher: StopStringMatcher;
  private readonly eosIds: ReadonlySet<number>;
  private stopReason: StopReason | null = null;

  constructor(tokenizer: TextTokenizer, options: OutputTextStreamOptions = {}) {
    this.detokenizer = new StreamingDetokenizer(tokenizer, { skipSpecialTokens: true });
    this.matcher = new StopStringMatcher(options.stopStrings ?? DEFAULT_STOP_STRINGS);
    const eos = options.eosIds ?? (tokenizer.eosId === null ? [] : [tokenizer.eosId]);
    this.eosIds = new Set(eos);
  }

  get stopped(): StopReason | null {
    return this.stopReason;
  }

  /** Feeds one generated id. After a stop, further ids produce no text. */
  push(id: number): OutputStep {
    if (this.stopReason !== null) return { text: '', stop: this.stopReason };
    if (this.eosIds.has(id)) {
      this.stopReason = { kind: 'eos', tokenId: id };
      return { text: this.flush(), stop: this.stopReason };
    }
    const match = this.matcher.push(this.detokenizer.push(id));
    if (match.stopString !== null) this.stopReason = { kind: 'stop-string', value: match.stopString };
    return { text: match.text, stop: this.stopReason };
  }

  /** Text still held at the end of generation (max tokens reached or aborted). */
  finish(): string {
    return this.stopReason === null ? this.flush() : '';
  }

  private flush(): string {
    const match = this.matcher.push(this.detokenizer.finish());
    if (match.stopString !== null) {
      this.stopReason ??= { kind: 'stop-string', value: match.stopString };
      return match.text;
    }
    return match.text + this.matcher.finish();
  }
}
