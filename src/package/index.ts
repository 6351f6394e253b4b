/**
 * The published package's main entry (`import { createWorkerEngine } from 'sarashina-webgpu'`): the engine API.
 * `createWorkerEngine` runs the engine in a Worker (the page stays responsive); `createEngine` runs it in the
 * calling thread (for your own worker). The element is in 'sarashina-webgpu/chat'. Built by scripts/build-lib.ts.
 */
export { createWorkerEngine, type WorkerEngineOptions } from '../../workers/engine-client';
export { createEngine, type CreateEngineOptions } from '../api/create-engine';
export { deleteCachedModel, listCachedModels, type StoredModel } from '../api/model-cache';
export type { ChatCompletions, Engine, InspectableEngine, InspectedCompletion, NonStreamingRequest, StreamingRequest } from '../api/engine';
export { ERROR_CODES, isSarashinaError, SarashinaError, type ErrorCode, type ErrorDetails, type SerializedError } from '../protocol/errors';
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  CompletionWarning,
  CompletionWarningCode,
  ContentPart,
  ContextTruncation,
  EngineInfo,
  EngineOptions,
  FinishReason,
  ImageSource,
  ImageUrlPart,
  LoadProgress,
  MemoryEstimate,
  PrecisionVariant,
  ResizedImage,
  TextPart,
  Timings,
  Usage,
} from '../protocol/api';
