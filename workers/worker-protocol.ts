/** What crosses between the engine client and the engine worker (all structured-clonable). */
import type { InspectedCompletion } from '../src/api/engine';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EngineInfo, EngineOptions, LoadProgress } from '../src/protocol/api';

/** EngineOptions without what cannot be cloned (the callback and signal travel separately). */
export type WorkerEngineOptions = Omit<EngineOptions, 'onProgress' | 'signal'>;

/** Where the worker's own files are when they do not lie next to it (an app's bundler renamed them). */
export interface WorkerAssets {
  /** onnxruntime-web's wasm (ort-wasm-simd-threaded.asyncify.wasm). */
  readonly ortWasmUrl?: string;
}

/** A request whose images are already Blobs or ImageBitmaps (no URLs) and without its signal. */
export type WorkerRequest = Omit<ChatCompletionRequest, 'signal'>;

export interface EngineWorkerApi {
  /** Loads the engine; progress through the (comlink-proxied) callback. */
  init(options: WorkerEngineOptions, onProgress?: (p: LoadProgress) => void, assets?: WorkerAssets): Promise<EngineInfo>;
  /** Aborts a running init. */
  abortInit(): void;
  /** Non-streaming request, keyed by `requestId` for abort. */
  complete(requestId: number, request: WorkerRequest): Promise<ChatCompletion>;
  /** Non-streaming request with prompt ids, first logits and generated ids (parity checks). */
  inspect(requestId: number, request: WorkerRequest): Promise<InspectedCompletion>;
  /** Starts a streaming request; chunks are pulled with next() in order. */
  startStream(requestId: number, request: WorkerRequest): Promise<void>;
  next(requestId: number): Promise<IteratorResult<ChatCompletionChunk, undefined>>;
  /** Ends a stream early (the consumer stopped iterating). */
  closeStream(requestId: number): Promise<void>;
  abort(requestId: number): void;
  dispose(): Promise<void>;
}
