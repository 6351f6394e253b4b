import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OutputTextStream } from './output-text-stream';
import { StreamingDetokenizer } from './streaming-detokenizer';
import { TextTokenizer } from './text-tokenizer';

const FOLDER = new URL('../../../export/reference/fixtures/processor-text/tokenizer-tiny/', import.meta.url);
const read = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FOLDER), 'utf8'));
const tokenizer = TextTokenizer.fromFiles({ tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') });
const encode = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: false });

/** Runs ids through a stream; returns the deltas and the stop. */
function run(ids: readonly number[], stream = new OutputTextStream(tokenizer)) {
  const deltas: string[] = [];
  let stop = null;
  for (const id of ids) {
    const step = stream.push(id);
    deltas.push(step.text);
    if (step.stop !== null) {
      stop = step.stop;
      break;
    }
  }
  if (stop === null) deltas.push(stream.finish());
  return { deltas, text: deltas.join(''), stop };
}

const isWholeUtf8 = (s: string): boolean => !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

describe('streaming text output', () => {
  it('streams emoji and rare kanji (byte fallback) without ever emitting half a character', () => {
    const text = '猫🦄と鬱蒼👂😊です。';
    const { deltas, text: shown, stop } = run(encode(text));
    expect(shown).toBe(text);
    expect(stop).toBeNull();
    for (const delta of deltas) expect(delta.includes('\uFFFD') || !isWholeUtf8(delta), delta).toBe(false);
  });

  it('stops at "\\n###" (byte-fallback newline included) and never shows it', () => {
    const { text, stop } = run(encode('答えは2です。\n### Human: 次'));
    expect(text).toBe('答えは2です。');
    expect(stop).toEqual({ kind: 'stop-string', value: '\n###' });
  });

  it('stops at EOS and flushes held text', () => {
    const ids = [...encode('はい\n#'), 2, ...encode('after')];
    const { text, stop } = run(ids);
    expect(text).toBe('はい\n#');
    expect(stop).toEqual({ kind: 'eos', tokenId: 2 });
  });

  it('honours custom stop strings and EOS ids', () => {
    const stream = new OutputTextStream(tokenizer, { stopStrings: ['です'], eosIds: [7] });
    expect(run(encode('これはペンです。'), stream)).toMatchObject({ text: 'これはペン', stop: { kind: 'stop-string', value: 'です' } });
    expect(run([...encode('あ'), 7], new OutputTextStream(tokenizer, { eosIds: [7] }))).toMatchObject({ text: 'あ', stop: { kind: 'eos' } });
  });

  it('concatenated deltas equal decode(all ids) for random id sequences, including bytes and specials', () => {
    let s = 12345;
    const next = (n: number): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const ids = Array.from({ length: 1 + next(40) }, () => {
        const kind = next(4);
        if (kind === 0) return 15 + 0x80 + next(0x40); // continuation bytes
        if (kind === 1) return 15 + ([0xe3, 0xf0, 0x41, 0x0a][next(4)] ?? 0x41);
        return next(tokenizer.vocabSize);
      });
      for (const skipSpecialTokens of [true, false]) {
        const detok = new StreamingDetokenizer(tokenizer, { skipSpecialTokens });
        const streamed = ids.map((id) => detok.push(id)).join('') + detok.finish();
        expect(streamed).toBe(tokenizer.decode(ids, { skipSpecialTokens }));
      }
    }
  });
});
