/**
 * Stop strings over streamed text. Text that could be the start of a stop string is held back, so a
 * partial stop string is never shown; when one completes, the text before it is released and the rest
 * dropped, so the final text never contains it.
 */
export interface StopMatch {
  /** Text that is now safe to show. */
  readonly text: string;
  /** The stop string that completed, or null. */
  readonly stopString: string | null;
}

/** Sarashina2-Vision's stop string (the model card's `get_stopping_criteria(["\n###"])`). */
export const DEFAULT_STOP_STRINGS: readonly string[] = ['\n###'];

export class StopStringMatcher {
  private readonly stopStrings: readonly string[];
  private held = '';
  private stopped = false;

  /** Empty stop strings are ignored. */
  constructor(stopStrings: readonly string[] = DEFAULT_STOP_STRINGS) {
    this.stopStrings = stopStrings.filter((s) => s.length > 0);
  }

  /** Feeds a text delta. After a stop string has matched, further text is dropped. */
  push(delta: string): StopMatch {
    if (this.stopped) return { text: '', stopString: null };
    const buffer = this.held + delta;
    let first: { index: number; stop: string } | null = null;
    for (const stop of this.stopStrings) {
      const index = buffer.indexOf(stop);
      if (index >= 0 && (first === null || index < first.index)) first = { index, stop };
    }
    if (first !== null) {
      this.stopped = true;
      this.held = '';
      return { text: buffer.slice(0, first.index), stopString: first.stop };
    }
    const keep = this.heldSuffixLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopString: null };
  }

  /** Releases held text at the end of generation (it did not become a stop string). */
  finish(): string {
    const text = this.stopped ? '' : this.held;
    this.held = '';
    return text;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private heldSuffixLength(buffer: string): number {
    let best = 0;
    for (const stop of this.stopStrings) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > best; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
