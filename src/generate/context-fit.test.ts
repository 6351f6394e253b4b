/**
 * fitToContext with the tiny model's real tokenizer, chat template and image processor config. Expected prompts
 * are built here from the messages the test expects to remain (TextProcessor.encodePrompt, planImage), never
 * from the fitter's own arithmetic.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseImageProcessorConfig } from '../convert/hf-config';
import { isSarashinaError, SarashinaError } from '../protocol/errors';
import { planImage } from '../processor/image/preprocess-images';
import type { ChatMessage } from '../processor/text/chat-messages';
import { TextProcessor } from '../processor/text/text-processor';
import { answerReserveTokens, droppableTurns, fitToContext, type FitRequest, type ImageSize } from './context-fit';

const CHECKPOINT = new URL('../../export/reference/fixtures/tiny/checkpoint/', import.meta.url);
const json = (name: string): unknown => JSON.parse(readFileSync(new URL(name, CHECKPOINT), 'utf8'));
const text = TextProcessor.fromFiles({ tokenizerJson: json('tokenizer.json'), tokenizerConfig: json('tokenizer_config.json'), chatTemplate: json('chat_template.json') });
const imageSpec = parseImageProcessorConfig(json('preprocessor_config.json'));
const processors = { text, imageSpec };

const IMAGE = { type: 'image_url', image_url: { url: 'data:,' } } as const;
const user = (content: string, images = 0): ChatMessage => ({ role: 'user', content: [...Array.from({ length: images }, () => IMAGE), { type: 'text', text: content }] });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const tokens = (size: ImageSize, maxPixels?: number): number => planImage(size.height, size.width, imageSpec, maxPixels === undefined ? {} : { maxPixels }).tokenCount;
/** Prompt length of `messages` with these images at the model's pixel budget: the processor's answer, not the fitter's. */
const promptLength = (messages: readonly ChatMessage[], images: readonly ImageSize[] = [], maxPixels?: number): number =>
  text.encodePrompt({ messages, imageTokenCounts: images.map((s) => tokens(s, maxPixels)) }).inputIds.length;

function overflow(request: FitRequest): SarashinaError {
  try {
    fitToContext(request, processors);
  } catch (e) {
    if (isSarashinaError(e, 'context-overflow')) return e;
    throw e;
  }
  throw new Error('expected context-overflow');
}

const CONVERSATION: ChatMessage[] = [
  user('What colour is the sky on a clear day?'),
  assistant('It is blue, because air scatters short wavelengths more than long ones: Rayleigh scattering, strongest for violet and blue light.'),
  user('And at sunset?'),
  assistant('Orange and red: the light crosses more air.'),
  user('Why is grass green?'),
];

describe('droppableTurns', () => {
  it('groups a user message with the assistant messages after it, keeps system messages and the latest user turn', () => {
    const messages: ChatMessage[] = [
      assistant('Welcome.'),
      { role: 'system', content: 'Be brief.' },
      user('a'),
      user('b'),
      assistant('c'),
      { role: 'system', content: 'Be kind.' },
      assistant('d'),
      user('e'),
      assistant('prefilled start of the answer'),
    ];
    expect(droppableTurns(messages)).toEqual([[0], [2], [3, 4, 6]]);
    expect(droppableTurns([user('only')])).toEqual([]);
    expect(droppableTurns([{ role: 'system', content: 's' }, assistant('no user at all')])).toEqual([]);
  });
});

describe('fitToContext', () => {
  const full = promptLength(CONVERSATION);
  const withoutFirstTurn = promptLength(CONVERSATION.slice(2));
  const lastOnly = promptLength(CONVERSATION.slice(4));

  it('keeps a request that fits exactly, and drops the oldest turn when one token over', () => {
    // Contexts from 256 tokens keep 64 for the answer when max_tokens is not given.
    const reserve = 64;
    expect(full + reserve - 1).toBeGreaterThanOrEqual(256);
    const exact = fitToContext({ messages: CONVERSATION, images: [], contextTokens: full + reserve }, processors);
    expect(exact.truncation).toBeNull();
    expect(exact.prompt.inputIds.length).toBe(full);
    // Without max_tokens the answer gets what the prompt leaves (here exactly the reserve).
    expect(exact.maxNewTokens).toBe(reserve);

    const over = fitToContext({ messages: CONVERSATION, images: [], contextTokens: full + reserve - 1 }, processors);
    expect(over.truncation).toEqual({ dropped_messages: 2, dropped_images: 0, resized_images: [] });
    expect(over.messages).toEqual(CONVERSATION.slice(2));
    expect(over.prompt.inputIds.length).toBe(withoutFirstTurn);
    expect(over.maxNewTokens).toBe(full + reserve - 1 - withoutFirstTurn);
  });

  it('reserves an explicit max_tokens in full, dropping as many turns as that takes', () => {
    const fits = fitToContext({ messages: CONVERSATION, images: [], contextTokens: full + 100, maxNewTokens: 100 }, processors);
    expect(fits.truncation).toBeNull();
    expect(fits.maxNewTokens).toBe(100);
    const both = fitToContext({ messages: CONVERSATION, images: [], contextTokens: full + 100, maxNewTokens: 100 + full - lastOnly }, processors);
    expect(both.truncation?.dropped_messages).toBe(4);
    expect(both.messages).toEqual(CONVERSATION.slice(4));
    expect(both.maxNewTokens).toBe(100 + full - lastOnly);
  });

  it('a max_tokens that does not fit even beside the last message alone is refused with the room there is', () => {
    const context = lastOnly + 50;
    const e = overflow({ messages: CONVERSATION, images: [], contextTokens: context, maxNewTokens: 51 });
    expect(e.details).toMatchObject({ promptTokens: lastOnly, maxNewTokens: 51, contextTokens: context, overBy: 1, droppedMessages: 4 });
    expect(e.message).toContain('lower max_tokens to at most 50');
    expect(e.message).toContain(`context of ${context} tokens`);
    expect(fitToContext({ messages: CONVERSATION, images: [], contextTokens: context, maxNewTokens: 50 }, processors).truncation?.dropped_messages).toBe(4);
  });

  it('a last message longer than the context alone is refused with the numbers, whatever the history', () => {
    const long = user('Tell me everything about the sky. '.repeat(20));
    const alone = promptLength([long]);
    const e = overflow({ messages: [...CONVERSATION.slice(0, 4), long], images: [], contextTokens: 256 });
    expect(alone + 64).toBeGreaterThan(256);
    expect(e.details).toMatchObject({ promptTokens: alone, maxNewTokens: 64, contextTokens: 256, overBy: alone + 64 - 256, imageTokens: 0, droppedMessages: 4 });
    expect(e.message).toContain(`the prompt has ${alone} tokens`);
    expect(e.message).toContain('64 tokens are kept for the answer');
  });

  it('drops the images of dropped turns and keeps the others aligned with their spans; system messages stay', () => {
    const sizes: ImageSize[] = [
      { width: 90, height: 60 },
      { width: 150, height: 100 },
      { width: 40, height: 30 },
    ];
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Answer in one sentence.' },
      user('Compare these two.', 2),
      assistant('The second is larger and striped.'),
      user('And this one?', 1),
      assistant('A small checkerboard.'),
      user('Which was first?'),
    ];
    const kept = [messages[0]!, ...messages.slice(3)];
    const keptLength = promptLength(kept, [sizes[2]!]);
    const fit = fitToContext({ messages, images: sizes, contextTokens: keptLength + 64 }, processors);
    expect(promptLength(messages, sizes) + 64).toBeGreaterThan(keptLength + 64);
    expect(fit.truncation).toEqual({ dropped_messages: 2, dropped_images: 2, resized_images: [] });
    expect(fit.messages).toEqual(kept);
    expect(fit.images.map((i) => i.index)).toEqual([2]);
    expect(fit.prompt.imageSpans).toHaveLength(1);
    expect(fit.prompt.imageSpans[0]?.length).toBe(tokens(sizes[2]!));
    expect(Array.from(fit.prompt.inputIds)).toEqual(Array.from(text.encodePrompt({ messages: kept, imageTokenCounts: [tokens(sizes[2]!)] }).inputIds));
  });

  it('shrinks the images of the last message to the largest common budget that fits, never below min_pixels', () => {
    const big: ImageSize = { width: 520, height: 400 };
    const small: ImageSize = { width: 40, height: 30 };
    const messages = [user('Describe both.', 2)];
    const textOnly = text.encodePrompt({ messages, imageTokenCounts: [1, 1] }).inputIds.length - 2;
    const context = 256;
    const room = context - 64 - textOnly;
    expect(tokens(big) + tokens(small)).toBeGreaterThan(room);
    const fit = fitToContext({ messages, images: [big, small], contextTokens: context }, processors);
    const resized = fit.truncation?.resized_images ?? [];
    // The small image is already under any budget that fits: only the big one changes.
    expect(resized).toHaveLength(1);
    const r = resized[0]!;
    expect(r.index).toBe(0);
    expect(r.original_image_tokens).toBe(tokens(big));
    // The reported size and tokens are the processor's own plan at the reported budget.
    const plan = planImage(big.height, big.width, imageSpec, { maxPixels: r.max_pixels });
    expect([r.width, r.height, r.image_tokens]).toEqual([plan.resizedWidth, plan.resizedHeight, plan.tokenCount]);
    expect(r.image_tokens).toBe((r.width * r.height) / 28 ** 2);
    expect(r.width / r.height).toBeCloseTo(big.width / big.height, 0);
    expect(r.max_pixels).toBeGreaterThanOrEqual(imageSpec.minPixels);
    expect(fit.images.map((i) => [i.index, i.plan.tokenCount])).toEqual([
      [0, r.image_tokens],
      [1, tokens(small)],
    ]);
    expect(fit.prompt.inputIds.length).toBe(textOnly + r.image_tokens + tokens(small));
    expect(fit.prompt.inputIds.length).toBeLessThanOrEqual(context - 64);
    // The largest budget: one pixel more and the images would not fit.
    expect(tokens(big, r.max_pixels + 1) + tokens(small, r.max_pixels + 1)).toBeGreaterThan(room);
  });

  it('drops every older turn before shrinking, and reports both', () => {
    const big: ImageSize = { width: 520, height: 400 };
    const messages = [user('Hello there.'), assistant('Hi! How can I help?'), user('What is this?', 1)];
    const fit = fitToContext({ messages, images: [big], contextTokens: 256 }, processors);
    expect(fit.truncation?.dropped_messages).toBe(2);
    expect(fit.truncation?.resized_images.map((r) => r.index)).toEqual([0]);
    expect(fit.messages).toEqual(messages.slice(2));
  });

  it('images that do not fit even at min_pixels are refused, naming the minimum', () => {
    const sizes = Array.from({ length: 12 }, (): ImageSize => ({ width: 520, height: 400 }));
    const messages = [user('Which differ?', sizes.length)];
    const atMinimum = sizes.reduce((n, s) => n + tokens(s, imageSpec.minPixels), 0);
    const prompt = promptLength(messages, sizes, imageSpec.minPixels);
    const e = overflow({ messages, images: sizes, contextTokens: 96 });
    expect(e.details).toMatchObject({ promptTokens: prompt, imageTokens: atMinimum, contextTokens: 96, maxNewTokens: 24 });
    expect(e.message).toContain(`processor's minimum of ${imageSpec.minPixels} pixels`);
    expect(e.message).toContain('send fewer images');
  });

  it('validates every image and max_tokens before fitting, naming the request index', () => {
    const messages = [user('tiny picture', 1), assistant('ok'), user('next')];
    expect(() => fitToContext({ messages, images: [{ width: 5, height: 5 }], contextTokens: 64 }, processors)).toThrow(
      expect.objectContaining({ code: 'invalid-request', message: expect.stringMatching(/^image 0:/) }),
    );
    for (const maxNewTokens of [0, 2.5]) {
      expect(() => fitToContext({ messages: CONVERSATION, images: [], contextTokens: 4096, maxNewTokens }, processors)).toThrow(
        expect.objectContaining({ code: 'invalid-request' }),
      );
    }
  });

  it('reserves a quarter of a small context when that is under 64 tokens', () => {
    expect(answerReserveTokens(64, undefined)).toBe(16);
    expect(answerReserveTokens(2, undefined)).toBe(1);
    expect(answerReserveTokens(64, 40)).toBe(40);
  });
});
