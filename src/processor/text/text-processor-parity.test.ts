// Parity with Hugging Face: fixtures made by export/reference/processor_text.py on the GPU machine
// (transformers + tokenizers + jinja2) for the generated tiny and full-size tokenizers.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './chat-messages';
import { StreamingDetokenizer } from './streaming-detokenizer';
import { TextProcessor } from './text-processor';

const FIXTURES = new URL('../../../export/reference/fixtures/processor-text/', import.meta.url);

interface Expected {
  readonly problems: readonly string[];
  readonly encode: readonly { text: string; ids: number[] }[];
  readonly chat: readonly { name: string; messages: ChatMessage[]; imageTokenCounts: number[]; text: string; ids: number[] }[];
  readonly decode: readonly { name: string; ids: number[]; skipSpecial: string; keepSpecial: string }[];
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'));

for (const folder of ['tokenizer-tiny', 'tokenizer-102400']) {
  describe(`text path parity with Hugging Face (${folder})`, () => {
    const expected = readJson(`expected-${folder}.json`) as Expected;
    const processor = TextProcessor.fromFiles({
      tokenizerJson: readJson(`${folder}/tokenizer.json`),
      tokenizerConfig: readJson(`${folder}/tokenizer_config.json`),
      chatTemplate: readJson(`${folder}/chat_template.json`),
    });
    const tokenizer = processor.tokenizer;

    it('Python tokenizers and transformers agreed when the fixtures were made', () => {
      expect(expected.problems).toEqual([]);
    });

    it('encodes every text exactly like tokenizer(text)', () => {
      expect(expected.encode.length).toBeGreaterThan(20);
      for (const c of expected.encode) expect(tokenizer.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
    });

    it('renders and expands chat messages exactly like apply_chat_template + the Qwen2-VL expansion', () => {
      for (const c of expected.chat) {
        const prompt = processor.buildPrompt({
          messages: c.messages,
          imageTokenCounts: c.imageTokenCounts,
          maxNewTokens: 1,
          contextTokens: 1 << 20,
        });
        expect(prompt.text, c.name).toBe(c.text);
        expect(Array.from(prompt.inputIds), c.name).toEqual(c.ids);
        expect(prompt.imageSpans.map((s) => s.length), c.name).toEqual(c.imageTokenCounts);
        for (const span of prompt.imageSpans) {
          expect(prompt.inputIds.subarray(span.start, span.start + span.length).every((id) => id === 14)).toBe(true);
        }
      }
    });

    it('decodes like decode(ids, skip_special_tokens), also when streamed one id at a time', () => {
      for (const c of expected.decode) {
        expect(tokenizer.decode(c.ids, { skipSpecialTokens: true }), c.name).toBe(c.skipSpecial);
        expect(tokenizer.decode(c.ids, { skipSpecialTokens: false }), c.name).toBe(c.keepSpecial);
        for (const skipSpecialTokens of [true, false]) {
          const stream = new StreamingDetokenizer(tokenizer, { skipSpecialTokens });
          const text = c.ids.map((id) => stream.push(id)).join('') + stream.finish();
          expect(text, c.name).toBe(skipSpecialTokens ? c.skipSpecial : c.keepSpecial);
        }
      }
    });
  });
}
