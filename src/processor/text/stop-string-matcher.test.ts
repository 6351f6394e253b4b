import { describe, expect, it } from 'vitest';
import { StopStringMatcher } from './stop-string-matcher';

/** Deterministic chunking of `text` into 1–4 character deltas. */
function chunks(text: string, seed: number): string[] {
  const out: string[] = [];
  let s = seed;
  for (let i = 0; i < text.length; ) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (s % 4);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('StopStringMatcher', () => {
  it('holds back a partial stop string and never shows it', () => {
    const m = new StopStringMatcher();
    expect(m.push('答えは')).toEqual({ text: '答えは', stopString: null });
    expect(m.push('2です。\n')).toEqual({ text: '2です。', stopString: null });
    expect(m.push('##')).toEqual({ text: '', stopString: null });
    expect(m.push('# Human')).toEqual({ text: '', stopString: '\n###' });
    expect(m.push('more')).toEqual({ text: '', stopString: null });
    expect(m.finish()).toBe('');
  });

  it('releases held text that turned out not to be a stop string', () => {
    const m = new StopStringMatcher();
    expect(m.push('a\n#')).toEqual({ text: 'a', stopString: null });
    expect(m.push('b')).toEqual({ text: '\n#b', stopString: null });
    expect(m.push('\n')).toEqual({ text: '', stopString: null });
    expect(m.finish()).toBe('\n');
  });

  it('for any chunking, shows exactly the text before the first stop string', () => {
    const stops = ['\n###', '</end>', 'STOP'];
    const texts = ['plain text', 'x\n##y\n###z', 'ab</en</end>cd', 'STSTOP', '\n##\n#\n###', 'no stop \n#'];
    for (const text of texts) {
      const cut = Math.min(...stops.map((s) => (text.includes(s) ? text.indexOf(s) : text.length)));
      for (let seed = 1; seed <= 20; seed++) {
        const m = new StopStringMatcher(stops);
        let shown = '';
        for (const delta of chunks(text, seed)) {
          shown += m.push(delta).text;
          expect(text.slice(0, cut).startsWith(shown), `${JSON.stringify(text)} seed ${seed}`).toBe(true);
        }
        shown += m.finish();
        expect(shown, JSON.stringify(text)).toBe(text.slice(0, cut));
      }
    }
  });
});
