/**
 * OpenAI-style chat messages as the processor accepts them, and their reduction to what Sarashina's chat
 * template reads (`role` + string `content`). Conventions (documented for API users):
 * - Text parts of one message are joined with "\n" (as vLLM and others do for string-content templates).
 * - Image parts are counted in order of appearance over all messages; the template decides where image
 *   blocks go (chat-prompt.ts). An image-only message has content "".
 * - `system` messages are passed to the template; Sarashina's template ignores them (see chat-prompt.ts).
 */
import { SarashinaError } from '../../protocol/errors';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatTextPart {
  readonly type: 'text';
  readonly text: string;
}

/** An image part; the image itself is handled by the image path, here only its position counts. */
export interface ChatImagePart {
  readonly type: 'image_url';
  readonly image_url?: unknown;
}

export type ChatContentPart = ChatTextPart | ChatImagePart;

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string | readonly ChatContentPart[];
}

/** A message as the chat template sees it. */
export interface TemplateMessage {
  readonly role: ChatRole;
  readonly content: string;
}

export interface FlattenedMessages {
  readonly messages: readonly TemplateMessage[];
  /** Number of image parts over all messages. */
  readonly imageCount: number;
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'];

function bad(message: string, field: string, actual: string | number | null): SarashinaError {
  return new SarashinaError('invalid-request', message, { field, actual });
}

/**
 * Validates `messages` and flattens each to a string content. Throws `SarashinaError('invalid-request')`
 * naming the message index for an empty list, an unknown role, a non-string text, an unknown part type,
 * or an image part in a non-user message.
 */
export function flattenChatMessages(messages: readonly ChatMessage[]): FlattenedMessages {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw bad('messages is empty: pass at least one {role: "user", content: "…"} message.', 'messages', 0);
  }
  let imageCount = 0;
  const out = messages.map((message: ChatMessage, index): TemplateMessage => {
    const field = `messages[${index}]`;
    if (typeof message !== 'object' || message === null || !ROLES.includes(message.role)) {
      const role = typeof message === 'object' && message !== null ? String(message.role) : typeof message;
      throw bad(`${field}.role is "${role}": use "system", "user" or "assistant".`, `${field}.role`, role);
    }
    const { role, content } = message;
    if (typeof content === 'string') return { role, content };
    if (!Array.isArray(content)) {
      throw bad(`${field}.content is ${typeof content}: pass a string or an array of parts.`, `${field}.content`, null);
    }
    const texts: string[] = [];
    content.forEach((part: ChatContentPart, partIndex) => {
      const partField = `${field}.content[${partIndex}]`;
      if (typeof part !== 'object' || part === null) {
        throw bad(`${partField} is not an object: pass {type: "text", text} or {type: "image_url", …}.`, partField, null);
      }
      if (part.type === 'text') {
        if (typeof part.text !== 'string') {
          throw bad(`${partField}.text is ${typeof part.text}: pass a string.`, `${partField}.text`, null);
        }
        texts.push(part.text);
      } else if (part.type === 'image_url') {
        if (role !== 'user') {
          throw bad(`${partField} is an image in a ${role} message: images may only be sent in user messages.`, partField, role);
        }
        imageCount++;
      } else {
        const type = String((part as { type?: unknown }).type);
        throw bad(`${partField}.type is "${type}": use "text" or "image_url".`, `${partField}.type`, type);
      }
    });
    return { role, content: texts.join('\n') };
  });
  return { messages: out, imageCount };
}
