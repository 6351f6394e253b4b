/**
 * The engine as users see it, the same in-thread (createEngine) and through a Worker (createWorkerEngine):
 * OpenAI-style chat completions, info about what was loaded, and dispose.
 */
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EngineInfo } from '../protocol/api';

export type StreamingRequest = ChatCompletionRequest & { readonly stream: true };
export type NonStreamingRequest = ChatCompletionRequest & { readonly stream?: false };

export interface ChatCompletions {
  /**
   * Runs one chat request. With `stream: true` it resolves (once the prompt is checked and the first token
   * is out) to an async iterable of chunks: the first carries `role`, the last `finish_reason`, `usage` and
   * `timings`. Otherwise it resolves to the whole completion. Requests run one at a time per engine; later
   * ones wait (a stream holds the engine until it is read to the end or left early). A conversation longer than the
   * context is fitted before any GPU work (oldest turns left out, then images shrunk; reported in `usage.truncation`).
   * Rejects with `SarashinaError` (invalid-request, context-overflow when even the fitted request does not fit,
   * image-too-large, …).
   */
  create(request: StreamingRequest): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(request: NonStreamingRequest): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

export interface Engine {
  readonly info: EngineInfo;
  readonly chat: { readonly completions: ChatCompletions };
  /** Frees every GPU buffer, session and the device; later requests reject with invalid-request. */
  dispose(): Promise<void>;
}

/** A completion plus what the OpenAI shape leaves out: for parity checks against a reference and the CLI's --dump. */
export interface InspectedCompletion {
  readonly completion: ChatCompletion;
  /** The prompt ids (images expanded). */
  readonly inputIds: readonly number[];
  /** Logits of the first generated position, full vocabulary. */
  readonly firstLogits: Float32Array;
  readonly generatedIds: readonly number[];
}

/** Engines that can also return an InspectedCompletion (both the in-thread and the worker engine can). */
export interface InspectableEngine extends Engine {
  /** As a non-streaming `create`, returning the prompt ids, first logits and generated ids too. */
  inspect(request: NonStreamingRequest): Promise<InspectedCompletion>;
}
