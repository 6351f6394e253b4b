import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from './text-tokenizer';

const FOLDER = new URL('../../../export/reference/fixtures/processor-text/tokenizer-tiny/', import.meta.url);
const read = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(name, FOLDER), 'utf8')) as Record<string, unknown>;

const tokenizerJson = read('tokenizer.json');
const tokenizerConfig = read('tokenizer_config.json');
const tokenizer = TextTokenizer.fromFiles({ tokenizerJson, tokenizerConfig });
const byteIds = (text: string): number[] => [...new TextEncoder().encode(text)].map((b) => 15 + b);

describe('TextTokenizer', () => {
  it('reads roles and ids from the files', () => {
    expect(tokenizer.bosId).toBe(1);
    expect(tokenizer.eosId).toBe(2);
    expect(tokenizer.tokenToId('<|file|>')).toBe(14);
    expect(tokenizer.modelMaxLength).toBe(4096);
    expect(tokenizer.templateTokens).toMatchObject({ bos_token: '<s>', eos_token: '</s>' });
    expect(tokenizer.isSpecial(14)).toBe(true);
    expect(tokenizer.isSpecial(15)).toBe(false);
  });

  it('falls back to UTF-8 bytes for characters without a piece instead of <unk>', () => {
    for (const text of ['🦄', '鬱', '\n', '\t', '👨\u200d👩']) expect(tokenizer.encode(text), text).toEqual(byteIds(text));
    expect(tokenizer.encode('<unk>')).toEqual([0]);
  });

  it('encode is tokenizer(text) even when <s> doubles; a prompt that starts with <s> is encoded without special tokens', () => {
    const withBos = {
      ...tokenizerJson,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
      },
    };
    const adding = TextTokenizer.fromFiles({ tokenizerJson: withBos, tokenizerConfig });
    const body = tokenizer.encode('こんにちは');
    expect(adding.encode('こんにちは')).toEqual([1, ...body]);
    expect(adding.encode('<s>こんにちは')).toEqual([1, 1, ...body]);
    expect(adding.encodePrompt('<s>こんにちは')).toEqual([1, ...body]);
    expect(adding.encodePrompt('こんにちは')).toEqual([1, ...body]);
    expect(adding.encode('こんにちは', { addSpecialTokens: false })).toEqual(body);
    expect(tokenizer.encode('<s>こんにちは')).toEqual([1, ...body]);
  });

  it('decodes with and without special tokens', () => {
    const ids = [1, ...tokenizer.encode('こんにちは 🦄'), 2];
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('こんにちは 🦄');
    expect(tokenizer.decode(ids)).toBe('<s>こんにちは 🦄</s>');
  });

  it('rejects ids outside the vocabulary and files that are not a byte-fallback Unigram tokenizer', () => {
    expect(() => tokenizer.decode([5000])).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    expect(() => tokenizer.pieceOf(-1)).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    const model = tokenizerJson.model as { vocab: [string, number][] };
    const noBytes = { ...tokenizerJson, model: { ...model, vocab: model.vocab.filter(([p]) => p !== '<0x41>') } };
    const bpe = { ...tokenizerJson, model: { type: 'BPE', vocab: {}, merges: [] } };
    for (const bad of [noBytes, bpe, 'not json']) {
      expect(() => TextTokenizer.fromFiles({ tokenizerJson: bad, tokenizerConfig })).toThrow(
        expect.objectContaining({ code: 'invalid-model' }),
      );
    }
  });
});
