import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SpecialTokens } from '../../protocol/model-spec';
import type { ChatMessage } from './chat-messages';
import { TextProcessor, type TextProcessorFiles } from './text-processor';

const FOLDER = new URL('../../../export/reference/fixtures/processor-text/tokenizer-tiny/', import.meta.url);
const read = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FOLDER), 'utf8'));
const FILES: TextProcessorFiles = { tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') };
const SPEC: SpecialTokens = { bos: 1, eos: 2, pad: 3, image: 14, imageStart: 2045, imageEnd: 2046 };
const image = { type: 'image_url', image_url: { url: 'data:,' } } as const;

describe('TextProcessor', () => {
  it('builds ids with one <|prefix|> run <|suffix|> per image and a single leading <s>', () => {
    const processor = TextProcessor.fromFiles({ ...FILES, specialTokens: SPEC });
    const prompt = processor.buildPrompt({
      messages: [{ role: 'user', content: [image, image, { type: 'text', text: '違いは？' }] }],
      imageTokenCounts: [3, 5],
      maxNewTokens: 16,
      contextTokens: 4096,
    });
    const ids = Array.from(prompt.inputIds);
    expect(ids.slice(0, 13)).toEqual([1, 2045, 14, 14, 14, 2046, 2045, 14, 14, 14, 14, 14, 2046]);
    expect(ids.filter((id) => id === 1)).toHaveLength(1);
    expect(prompt.imageSpans).toEqual([
      { start: 2, length: 3 },
      { start: 7, length: 5 },
    ]);
    expect(processor.tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(
      prompt.text.replace('<s><|prefix|><|file|><|suffix|><|prefix|><|file|><|suffix|>', ''),
    );
  });

  it('uses the reference template when the package has no chat_template.json', () => {
    const fallback = TextProcessor.fromFiles(FILES);
    const explicit = TextProcessor.fromFiles({ ...FILES, chatTemplate: read('chat_template.json') });
    const request = { messages: [{ role: 'user', content: 'hi' }] as const, imageTokenCounts: [], maxNewTokens: 1, contextTokens: 4096 };
    expect(fallback.buildPrompt(request).text).toBe(explicit.buildPrompt(request).text);
    expect(() => TextProcessor.fromFiles({ ...FILES, chatTemplate: { template: 'x' } })).toThrow(
      expect.objectContaining({ code: 'invalid-model' }),
    );
  });

  it("reports system messages the package's template leaves out (the ids are still Hugging Face's); none when it renders them", () => {
    // apply_chat_template's output for [system, user] with the tiny package's template (processor_text.py).
    const expected = JSON.parse(readFileSync(new URL('../expected-tokenizer-tiny.json', FOLDER), 'utf8')) as {
      chat: { name: string; messages: ChatMessage[]; ids: number[] }[];
    };
    const hf = expected.chat.find((c) => c.name === 'system-message');
    if (!hf) throw new Error('the fixture has no system-message case');
    expect(hf.messages.map((m) => m.role)).toEqual(['system', 'user']);
    const template = (read('chat_template.json') as { chat_template: string }).chat_template;
    const real = TextProcessor.fromFiles({ ...FILES, chatTemplate: template }).encodePrompt({ messages: hf.messages, imageTokenCounts: [] });
    expect(Array.from(real.inputIds)).toEqual(hf.ids);
    expect(real.systemMessageIgnored).toBe(true);
    const userOnly = TextProcessor.fromFiles({ ...FILES, chatTemplate: template }).encodePrompt({ messages: hf.messages.slice(1), imageTokenCounts: [] });
    expect(userOnly.systemMessageIgnored).toBe(false);
    // The same template with a system branch (as some chat models have): the system text is in the prompt, no report.
    const assistantBranch = "{% elif message['role'] == 'assistant' %}";
    expect(template).toContain(assistantBranch);
    const withSystem = template.replace(assistantBranch, `{% elif message['role'] == 'system' %}{{ message['content'] + '\\n' }}${assistantBranch}`);
    const rendered = TextProcessor.fromFiles({ ...FILES, chatTemplate: withSystem }).encodePrompt({ messages: hf.messages, imageTokenCounts: [] });
    expect(rendered.text).toContain('You are a pirate.');
    expect(rendered.systemMessageIgnored).toBe(false);
  });

  it('cross-checks the model spec against the tokenizer', () => {
    for (const wrong of [{ image: 15 }, { imageStart: 2044 }, { eos: 3 }]) {
      expect(() => TextProcessor.fromFiles({ ...FILES, specialTokens: { ...SPEC, ...wrong } }), JSON.stringify(wrong)).toThrow(
        expect.objectContaining({ code: 'invalid-model' }),
      );
    }
  });

  it('rejects image counts that do not match the image parts, and prompts over the context budget', () => {
    const processor = TextProcessor.fromFiles(FILES);
    const messages = [{ role: 'user', content: [image, { type: 'text', text: 'x' }] }] as const;
    expect(() => processor.buildPrompt({ messages, imageTokenCounts: [], maxNewTokens: 1, contextTokens: 4096 })).toThrow(
      expect.objectContaining({ code: 'invalid-request' }),
    );
    expect(() => processor.buildPrompt({ messages, imageTokenCounts: [4000], maxNewTokens: 128, contextTokens: 4096 })).toThrow(
      expect.objectContaining({ code: 'context-overflow' }),
    );
  });

  it('streams output text with the default stops', () => {
    const processor = TextProcessor.fromFiles(FILES);
    const stream = processor.createOutputStream();
    const ids = processor.tokenizer.encode('東京です。\n### Human', { addSpecialTokens: false });
    const text = ids.map((id) => stream.push(id).text).join('');
    expect(text).toBe('東京です。');
    expect(stream.stopped).toEqual({ kind: 'stop-string', value: '\n###' });
  });
});
