/** e2e page: the engine through the Worker client, driven step by step from e2e/chat.test.ts. */
import type { InspectableEngine } from '../../src/api/engine';
import type { ChatCompletionChunk, ChatMessage, CompletionWarning, LoadProgress, Usage } from '../../src/protocol/api';
import { SarashinaError } from '../../src/protocol/errors';
import { createWorkerEngine } from '../../workers/engine-client';

interface StreamOut {
  readonly text: string;
  readonly chunks: number;
  readonly finishReason: string | null;
  readonly usage: Usage | null;
  readonly roleFirst: boolean;
  /** The last chunk's warnings (absent when none). */
  readonly warnings?: readonly CompletionWarning[];
}

interface ErrorOut {
  readonly isSarashinaError: boolean;
  readonly code: string;
  readonly message: string;
  readonly details: unknown;
}

declare global {
  interface Window {
    chatLoad: (model: string, contextTokens: number) => Promise<{ info: unknown; progress: number; phases: string[] }>;
    chatStream: (messages: ChatMessage[], options: { maxTokens: number; abortAfterChunks?: number }) => Promise<StreamOut>;
    chatComplete: (messages: ChatMessage[], maxTokens: number) => Promise<{ text: string; finishReason: string; usage: Usage; warnings?: readonly CompletionWarning[] }>;
    chatInspect: (messages: ChatMessage[], maxTokens: number) => Promise<{ inputIds: number[]; firstLogits: number[]; generatedIds: number[]; finishReason: string }>;
    chatBitmap: (url: string, text: string) => Promise<Usage>;
    chatError: (messages: ChatMessage[], maxTokens: number) => Promise<ErrorOut | null>;
    chatDispose: () => Promise<ErrorOut | null>;
  }
}

let engine: InspectableEngine | null = null;

function current(): InspectableEngine {
  if (!engine) throw new Error('chatLoad first');
  return engine;
}

function errorOut(e: unknown): ErrorOut {
  if (e instanceof SarashinaError) return { isSarashinaError: true, code: e.code, message: e.message, details: e.details };
  return { isSarashinaError: false, code: 'not a SarashinaError', message: String(e), details: null };
}

window.chatLoad = async (model, contextTokens) => {
  const progress: LoadProgress[] = [];
  engine = await createWorkerEngine({ model, contextTokens, onProgress: (p) => progress.push(p) });
  return { info: engine.info, progress: progress.length, phases: [...new Set(progress.map((p) => p.phase))] };
};

window.chatStream = async (messages, { maxTokens, abortAfterChunks }) => {
  const controller = new AbortController();
  const stream = await current().chat.completions.create({ messages, max_tokens: maxTokens, stream: true, signal: controller.signal });
  let text = '';
  let chunks = 0;
  let last: ChatCompletionChunk | null = null;
  let roleFirst = false;
  for await (const chunk of stream) {
    if (chunks === 0) roleFirst = chunk.choices[0].delta.role === 'assistant';
    chunks++;
    text += chunk.choices[0].delta.content ?? '';
    last = chunk;
    if (abortAfterChunks !== undefined && chunks === abortAfterChunks) controller.abort();
  }
  return { text, chunks, finishReason: last?.choices[0].finish_reason ?? null, usage: last?.usage ?? null, roleFirst, ...(last?.warnings ? { warnings: last.warnings } : {}) };
};

window.chatComplete = async (messages, maxTokens) => {
  const done = await current().chat.completions.create({ messages, max_tokens: maxTokens });
  return { text: done.choices[0].message.content, finishReason: done.choices[0].finish_reason, usage: done.usage, ...(done.warnings ? { warnings: done.warnings } : {}) };
};

window.chatInspect = async (messages, maxTokens) => {
  const out = await current().inspect({ messages, max_tokens: maxTokens });
  return {
    inputIds: [...out.inputIds],
    firstLogits: Array.from(out.firstLogits),
    generatedIds: [...out.generatedIds],
    finishReason: out.completion.choices[0].finish_reason,
  };
};

window.chatBitmap = async (url, text) => {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const done = await current().chat.completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: bitmap }, { type: 'text', text }] }],
    max_tokens: 1,
  });
  return done.usage;
};

window.chatError = async (messages, maxTokens) => {
  try {
    await current().chat.completions.create({ messages, max_tokens: maxTokens, stream: true });
    return null;
  } catch (e) {
    return errorOut(e);
  }
};

window.chatDispose = async () => {
  const e = current();
  await e.dispose();
  engine = null;
  try {
    await e.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }] });
    return null;
  } catch (err) {
    return errorOut(err);
  }
};
