import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { isSarashinaError } from '../../src/protocol/errors';
import { TextTokenizer } from '../../src/processor/text/text-tokenizer';
import { BYTE_TOKEN_BASE_ID, SARASHINA_SPECIAL_TOKENS, buildTokenizerFiles, type TokenizerFiles } from './tokenizer-files';

const TINY = { vocabSize: 2048, imageStartId: 2045, imageEndId: 2046, seed: 0 };
const FULL = { vocabSize: 102400, imageStartId: 102397, imageEndId: 102398, seed: 0 };
const FIXTURES = new URL('../reference/fixtures/processor-text/', import.meta.url);

interface TokenizerJson {
  added_tokens: { id: number; content: string; special: boolean; normalized: boolean }[];
  model: { type: string; unk_id: number; byte_fallback: boolean; vocab: [string, number][] };
}
const parse = (files: TokenizerFiles): TokenizerJson => JSON.parse(files['tokenizer.json']) as TokenizerJson;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('buildTokenizerFiles', () => {
  it('reproduces the committed fixture folders byte for byte (the Hugging Face fixtures were made from them)', () => {
    for (const [folder, options] of [
      ['tokenizer-tiny', TINY],
      ['tokenizer-102400', FULL],
    ] as const) {
      const files = buildTokenizerFiles(options);
      for (const [name, text] of Object.entries(files)) {
        const committed = readFileSync(new URL(`${folder}/${name}`, FIXTURES), 'utf8');
        expect(sha256(text), `${folder}/${name}`).toBe(sha256(committed));
      }
    }
  });

  it('is deterministic in the seed and changes with it', () => {
    expect(buildTokenizerFiles(TINY)['tokenizer.json']).toBe(buildTokenizerFiles(TINY)['tokenizer.json']);
    expect(buildTokenizerFiles({ ...TINY, seed: 1 })['tokenizer.json']).not.toBe(buildTokenizerFiles(TINY)['tokenizer.json']);
  });

  it('lays out ids like Sarashina: 15 specials, 256 bytes from 15, image start/end where asked, unique pieces', () => {
    for (const options of [TINY, FULL, { vocabSize: 5000, imageStartId: 300, imageEndId: 4000, seed: 7 }]) {
      const json = parse(buildTokenizerFiles(options));
      const vocab = json.model.vocab;
      expect(vocab).toHaveLength(options.vocabSize);
      expect(new Set(vocab.map(([piece]) => piece)).size).toBe(options.vocabSize);
      SARASHINA_SPECIAL_TOKENS.forEach((token, id) => expect(vocab[id]?.[0]).toBe(token));
      expect(vocab[14]?.[0]).toBe('<|file|>');
      const bytePieces = vocab.slice(BYTE_TOKEN_BASE_ID, BYTE_TOKEN_BASE_ID + 256).map(([piece]) => piece);
      expect(bytePieces).toEqual(Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
      expect(vocab[options.imageStartId]?.[0]).toBe('<|prefix|>');
      expect(vocab[options.imageEndId]?.[0]).toBe('<|suffix|>');
      const added = new Map(json.added_tokens.map((t) => [t.content, t]));
      for (const token of [...SARASHINA_SPECIAL_TOKENS, '<|prefix|>', '<|suffix|>']) {
        expect(added.get(token)?.special, token).toBe(true);
        expect(added.get(token)?.normalized, token).toBe(false);
      }
      // Scores are log-probabilities; no piece holds a newline or tab (they take byte fallback, as in Sarashina).
      const ordinary = vocab.slice(BYTE_TOKEN_BASE_ID + 256).filter(([piece]) => !added.has(piece));
      expect(ordinary.filter(([, score]) => !(score < 0))).toEqual([]);
      expect(ordinary.filter(([piece]) => /[\n\t ]/.test(piece))).toEqual([]);
      expect(json.model).toMatchObject({ type: 'Unigram', unk_id: 0, byte_fallback: true });
    }
  });

  it('writes configs that add no BOS (the chat template emits <s>) and the reference chat template', () => {
    const files = buildTokenizerFiles(TINY);
    const config = JSON.parse(files['tokenizer_config.json']) as Record<string, unknown>;
    expect(config).toMatchObject({ add_bos_token: false, add_eos_token: false, bos_token: '<s>', eos_token: '</s>' });
    expect(config).toMatchObject({ pad_token: '<pad>', unk_token: '<unk>', model_max_length: 4096 });
    const template = JSON.parse(files['chat_template.json']) as { chat_template: string };
    expect(template.chat_template).toContain("{{ bos_token + '<|prefix|><|file|><|suffix|>A chat between");
    // The real file is 533 bytes; the reconstruction serializes to the same size.
    expect(new TextEncoder().encode(files['chat_template.json']).length).toBe(533);
  });

  it('round-trips text through @huggingface/tokenizers, with emoji and rare kanji via byte fallback', () => {
    const files = buildTokenizerFiles(TINY);
    const tokenizerJson: unknown = JSON.parse(files['tokenizer.json']);
    const tokenizerConfig: unknown = JSON.parse(files['tokenizer_config.json']);
    const library = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
    const tokenizer = TextTokenizer.fromFiles({ tokenizerJson, tokenizerConfig });
    const texts = ['こんにちは、世界！', 'Hello world, describe the image.', ' two  spaces\nand\ttabs ', '🦄👂😊 鬱蒼', '<|file|>x'];
    for (const text of texts) {
      const ids = tokenizer.encode(text);
      expect(tokenizer.decode(ids), text).toBe(text);
      expect(library.encode(text).ids.every((id) => id < TINY.vocabSize)).toBe(true);
    }
    // 🦄 is not a piece: it must become its four UTF-8 bytes, not <unk>.
    const unicorn = [...new TextEncoder().encode('🦄')].map((b) => BYTE_TOKEN_BASE_ID + b);
    expect(tokenizer.encode('🦄')).toEqual(unicorn);
    expect(tokenizer.encode('<|file|>')).toEqual([14]);
  });

  it('rejects sizes and ids it cannot lay out', () => {
    const bad = [
      { ...TINY, vocabSize: 500 },
      { ...TINY, vocabSize: 2048.5 },
      { ...TINY, imageStartId: 14 },
      { ...TINY, imageEndId: 2048 },
      { ...TINY, imageEndId: TINY.imageStartId },
      { ...TINY, seed: 0.5 },
    ];
    for (const options of bad) {
      expect(() => buildTokenizerFiles(options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'invalid-request' }),
      );
    }
    try {
      buildTokenizerFiles({ ...TINY, vocabSize: 500 });
    } catch (e) {
      expect(isSarashinaError(e, 'invalid-request') && e.message.includes('500')).toBe(true);
    }
  });
});
