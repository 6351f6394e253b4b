/** Generator events → OpenAI-shaped completion objects and stream chunks (usage, timings and warnings on the last). */
import type { GenerationResult } from '../generate/generator';
import type { ChatCompletion, ChatCompletionChunk, FinishReason } from '../protocol/api';

export interface CompletionIdentity {
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
}

/** A fresh id and timestamp for one request. */
export function newCompletionIdentity(model: string): CompletionIdentity {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
  return { id: `chatcmpl-${random}`, created: Math.floor(Date.now() / 1000), model };
}

export function completionFrom(identity: CompletionIdentity, result: GenerationResult): ChatCompletion {
  return {
    ...identity,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: result.text }, finish_reason: result.finishReason }],
    usage: result.usage,
    timings: result.timings,
    ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
  };
}

export function chunkFrom(
  identity: CompletionIdentity,
  delta: { role?: 'assistant'; content?: string },
  finishReason: FinishReason | null,
  result?: GenerationResult,
): ChatCompletionChunk {
  return {
    ...identity,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
    ...(result ? { usage: result.usage, timings: result.timings } : {}),
    ...(result && result.warnings.length > 0 ? { warnings: result.warnings } : {}),
  };
}
