import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './chat-messages';
import { renderChatPrompt, type ChatPromptOptions } from './chat-prompt';
import { SARASHINA_CHAT_TEMPLATE, SARASHINA_IMAGE_BLOCK } from './sarashina-chat-template';

const OPTIONS: ChatPromptOptions = {
  template: SARASHINA_CHAT_TEMPLATE,
  templateTokens: { bos_token: '<s>', eos_token: '</s>' },
  imageBlock: SARASHINA_IMAGE_BLOCK,
  imageToken: '<|file|>',
  reservedStrings: ['<|prefix|>', '<|suffix|>'],
};
const PREAMBLE =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.\n\n";
const image = { type: 'image_url', image_url: { url: 'data:,' } } as const;
const text = (t: string) => ({ type: 'text', text: t }) as const;

describe('renderChatPrompt', () => {
  it('renders the Sarashina format, with the image block removed when there is no image', () => {
    const prompt = renderChatPrompt([{ role: 'user', content: 'こんにちは' }], OPTIONS);
    expect(prompt.text).toBe(`<s>${PREAMBLE}### Human: こんにちは\n### Assistant:`);
    expect(prompt.imageCount).toBe(0);
  });

  it('repeats the block at the template position once per image, from any user turn, and joins text parts with \\n', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: [text('これは？'), image] },
      { role: 'assistant', content: '猫です。' },
      { role: 'user', content: [image, text('では'), text('これは？')] },
    ];
    const prompt = renderChatPrompt(messages, OPTIONS);
    expect(prompt.imageCount).toBe(2);
    expect(prompt.text).toBe(
      `<s>${SARASHINA_IMAGE_BLOCK.repeat(2)}${PREAMBLE}### Human: これは？\n### Assistant: 猫です。\n### Human: では\nこれは？\n### Assistant:`,
    );
  });

  it('reports a system message the template ignores, and leaves the prompt as Hugging Face renders it', () => {
    const user: ChatMessage = { role: 'user', content: 'hi' };
    const withSystem = renderChatPrompt([{ role: 'system', content: 'Be brief.' }, user], OPTIONS);
    expect(withSystem.systemMessageIgnored).toBe(true);
    expect(withSystem.text).toBe(renderChatPrompt([user], OPTIONS).text);
    const usesSystem = { ...OPTIONS, template: '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}' };
    const rendered = renderChatPrompt([{ role: 'system', content: 'Be brief.' }, user], usesSystem);
    expect(rendered).toMatchObject({ text: '[system]Be brief.[user]hi', systemMessageIgnored: false });
  });

  it('uses a template that emits one block per image as is, and refuses images a template has no place for', () => {
    const perImage = {
      ...OPTIONS,
      template: `{% for m in messages %}{{ m.content }}{% endfor %}${SARASHINA_IMAGE_BLOCK}${SARASHINA_IMAGE_BLOCK}`,
    };
    expect(renderChatPrompt([{ role: 'user', content: [image, image, text('x')] }], perImage).text).toBe(
      `x${SARASHINA_IMAGE_BLOCK}${SARASHINA_IMAGE_BLOCK}`,
    );
    expect(() => renderChatPrompt([{ role: 'user', content: [image, text('x')] }], perImage)).toThrow(
      expect.objectContaining({ code: 'invalid-model' }),
    );
    const noBlock = { ...OPTIONS, template: '{{ messages[0].content }}' };
    expect(() => renderChatPrompt([{ role: 'user', content: [image] }], noBlock)).toThrow(
      expect.objectContaining({ code: 'invalid-request' }),
    );
  });

  it('rejects malformed messages, naming the field', () => {
    const cases: [unknown, string][] = [
      [[], 'messages'],
      [[{ role: 'tool', content: 'x' }], 'messages[0].role'],
      [[{ role: 'user', content: 3 }], 'messages[0].content'],
      [[{ role: 'user', content: [{ type: 'audio' }] }], 'messages[0].content[0].type'],
      [[{ role: 'user', content: [{ type: 'text', text: 1 }] }], 'messages[0].content[0].text'],
      [[{ role: 'assistant', content: [image] }], 'messages[0].content[0]'],
      [[{ role: 'user', content: 'look: <|file|>' }], 'messages[0].content'],
      [[{ role: 'user', content: 'a' }, { role: 'user', content: '<|prefix|>' }], 'messages[1].content'],
    ];
    for (const [messages, field] of cases) {
      expect(() => renderChatPrompt(messages as ChatMessage[], OPTIONS), field).toThrow(
        expect.objectContaining({ code: 'invalid-request', details: expect.objectContaining({ field }) }),
      );
    }
  });

  it('reports a template that does not parse as a model problem', () => {
    expect(() => renderChatPrompt([{ role: 'user', content: 'x' }], { ...OPTIONS, template: '{% for %}' })).toThrow(
      expect.objectContaining({ code: 'invalid-model' }),
    );
  });
});
