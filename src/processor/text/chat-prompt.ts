/**
 * Renders chat messages into the prompt text with the package's Jinja chat template (`@huggingface/jinja`,
 * the same semantics as transformers' `apply_chat_template`), then places image blocks.
 *
 * Image convention: Sarashina's template emits one image block `<|prefix|><|file|><|suffix|>` at the start of
 * every prompt. With N images that block is repeated N times where the template puts it (as llm-jp-eval-mm
 * does), with no image it is removed; images from any user turn go there in order of appearance. A template
 * that itself emits one block per image is used as is.
 *
 * System messages: passed to the template. Sarashina's template ignores them (its fixed preamble is the
 * system prompt the model was trained with), so `systemMessageIgnored` reports when that happened; the completion
 * then carries a `system-message-ignored` warning (generator.ts). We do not inject the text elsewhere, to keep the
 * prompt identical to Hugging Face's.
 *
 * The template comes with the package, from anywhere: it is rendered with bounded work (bounded-template.ts), and one
 * that loops or builds huge values is refused as `invalid-model` instead of freezing the worker.
 */
import { Template } from '@huggingface/jinja';
import { SarashinaError } from '../../protocol/errors';
import { renderBounded, TemplateLimitError } from './bounded-template';
import { flattenChatMessages, type ChatMessage, type TemplateMessage } from './chat-messages';

export interface ChatPromptOptions {
  /** Jinja source (chat_template.json's `chat_template`). */
  readonly template: string;
  /** Role tokens passed to the template (`bos_token`, `eos_token`, …). */
  readonly templateTokens: Readonly<Record<string, string>>;
  /** The image block the template emits (`<|prefix|><|file|><|suffix|>`). */
  readonly imageBlock: string;
  /** The image placeholder inside the block (`<|file|>`). */
  readonly imageToken: string;
  /** Other strings user text may not contain because they would shift image features (`<|prefix|>`, …). */
  readonly reservedStrings?: readonly string[];
}

export interface ChatPrompt {
  /** Prompt text, with exactly `imageCount` image blocks. */
  readonly text: string;
  readonly imageCount: number;
  /** True when a system message was given and the template output does not depend on it. */
  readonly systemMessageIgnored: boolean;
}

const countOccurrences = (text: string, needle: string): number => text.split(needle).length - 1;

function compile(source: string): Template {
  try {
    return new Template(source);
  } catch (cause) {
    throw new SarashinaError(
      'invalid-model',
      `the chat template does not parse (${String(cause)}): fix chat_template.json in the model package.`,
      { field: 'chat_template' },
      { cause },
    );
  }
}

function render(template: Template, messages: readonly TemplateMessage[], tokens: Readonly<Record<string, string>>): string {
  try {
    return renderBounded(template, { ...tokens, messages, add_generation_prompt: true });
  } catch (cause) {
    if (cause instanceof TemplateLimitError || cause instanceof RangeError) {
      // A RangeError is the JavaScript engine's own limit (call stack, string length): the template, not the request.
      throw new SarashinaError(
        'invalid-model',
        `the model package's chat template was stopped: ${cause.message}. A chat template renders a few messages in ` +
          'a few thousand steps; fix chat_template.json in the model package or use another package.',
        { field: 'chat_template' },
        { cause },
      );
    }
    throw new SarashinaError(
      'invalid-request',
      `the chat template rejected the messages (${String(cause)}): check the roles and their order.`,
      { field: 'messages' },
      { cause },
    );
  }
}

/**
 * Renders `messages` into prompt text with `options.imageBlock` repeated once per image part. Throws
 * `SarashinaError('invalid-request')` for malformed messages, for user text containing the image token or a
 * reserved string, and when images are given but the template has no image block; `invalid-model` when the
 * template does not parse or emits image blocks in a count that is neither 1 nor the image count.
 */
export function renderChatPrompt(messages: readonly ChatMessage[], options: ChatPromptOptions): ChatPrompt {
  const flat = flattenChatMessages(messages);
  const reserved = [options.imageToken, ...(options.reservedStrings ?? [])];
  flat.messages.forEach((message, index) => {
    for (const text of reserved) {
      if (message.content.includes(text)) {
        throw new SarashinaError(
          'invalid-request',
          `messages[${index}] contains "${text}", which marks image positions: remove it from the text ` +
            `and send images as {type: "image_url"} parts.`,
          { field: `messages[${index}].content`, actual: text },
        );
      }
    }
  });
  const template = compile(options.template);
  const rendered = render(template, flat.messages, options.templateTokens);
  const blocks = countOccurrences(rendered, options.imageBlock);
  const images = flat.imageCount;
  let text = rendered;
  if (blocks === 1) {
    text = rendered.replace(options.imageBlock, () => options.imageBlock.repeat(images));
  } else if (blocks !== images) {
    if (blocks === 0) {
      throw new SarashinaError(
        'invalid-request',
        `${images} image(s) were given but this model's chat template has no image block ` +
          `"${options.imageBlock}": send the request without images or use a vision model package.`,
        { field: 'messages', actual: images },
      );
    }
    throw new SarashinaError(
      'invalid-model',
      `the chat template emitted ${blocks} image blocks for ${images} image(s): a template must emit one ` +
        `block (repeated per image) or one per image; fix chat_template.json.`,
      { field: 'chat_template', actual: blocks },
    );
  }
  let systemMessageIgnored = false;
  if (flat.messages.some((m) => m.role === 'system')) {
    const withoutSystem = flat.messages.filter((m) => m.role !== 'system');
    systemMessageIgnored =
      withoutSystem.length > 0 && render(template, withoutSystem, options.templateTokens) === rendered;
  }
  return { text, imageCount: images, systemMessageIgnored };
}
