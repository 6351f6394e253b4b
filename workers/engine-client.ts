/**
 * createWorkerEngine: the same Engine interface as createEngine, with the engine in a dedicated Worker so the
 * page stays responsive. Images are fetched/resolved here (URLs → Blobs) and sent to the worker (ImageBitmaps
 * transferred); streams arrive as an async iterator, pulled in order; an AbortSignal aborts in the worker;
 * SarashinaErrors keep their code and details.
 */
import { proxy, releaseProxy, type Remote, transfer, wrap } from 'comlink';
import type { ChatCompletions, InspectableEngine, InspectedCompletion, NonStreamingRequest } from '../src/api/engine';
import { imageSources, resolveImageSource } from '../src/api/image-input';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage, ContentPart, EngineInfo, EngineOptions } from '../src/protocol/api';
import { SarashinaError } from '../src/protocol/errors';
import { installErrorTransfer } from './error-transfer';
import { launchEngineWorker } from './worker-launcher';
import type { EngineWorkerApi, WorkerRequest } from './worker-protocol';

export interface WorkerEngineOptions extends EngineOptions {
  /** The worker to use (default: a module worker from engine-worker.ts). */
  readonly worker?: Worker;
}

/**
 * Starts the worker and loads the engine in it. Rejects with the worker's SarashinaError (e.g. webgpu-unavailable),
 * or `worker-unavailable` when the worker cannot start (blocked by the page's Content-Security-Policy, its script
 * not loadable): the worker's error event ends the wait instead of leaving it hanging.
 */
export async function createWorkerEngine(options: WorkerEngineOptions): Promise<InspectableEngine> {
  installErrorTransfer();
  const { worker, ortWasmUrl } = options.worker ? { worker: options.worker, ortWasmUrl: undefined } : startWorker();
  const remote = wrap<EngineWorkerApi>(worker);
  const { onProgress, signal, worker: _worker, ...clonable } = options;
  const onAbort = (): void => void remote.abortInit();
  signal?.addEventListener('abort', onAbort);
  const failed = workerFailure(worker);
  try {
    if (signal?.aborted) throw new SarashinaError('aborted', 'Loading the engine was aborted before it started.', {});
    const assets = ortWasmUrl ? { ortWasmUrl } : {};
    const info = await Promise.race([remote.init(clonable, onProgress ? proxy(onProgress) : undefined, assets), failed.promise]);
    return new WorkerEngine(worker, remote, info);
  } catch (e) {
    remote[releaseProxy]();
    worker.terminate();
    throw e;
  } finally {
    failed.stop();
    signal?.removeEventListener('abort', onAbort);
  }
}

const WORKER_TODO =
  "If the page sets a Content-Security-Policy, allow the engine's worker (worker-src 'self' blob:, or the package's origin); when the package is served from another origin, its server must send CORS headers (Access-Control-Allow-Origin).";

function startWorker(): ReturnType<typeof launchEngineWorker> {
  try {
    return launchEngineWorker();
  } catch (cause) {
    throw new SarashinaError('worker-unavailable', `The engine's Worker could not be created (${String(cause)}). ${WORKER_TODO}`, {}, { cause });
  }
}

/** Rejects when the worker reports an error before the engine is loaded (its script failed to load or to run). */
function workerFailure(worker: Worker): { promise: Promise<never>; stop: () => void } {
  let onError: (event: Event) => void = () => undefined;
  const promise = new Promise<never>((_resolve, reject) => {
    onError = (event) => {
      const what = event instanceof ErrorEvent && event.message ? event.message : 'its script could not be loaded or was blocked';
      reject(new SarashinaError('worker-unavailable', `The engine's Worker failed before the engine was loaded: ${what}. ${WORKER_TODO}`, { reason: what }));
    };
    worker.addEventListener('error', onError);
  });
  promise.catch(() => undefined);
  return { promise, stop: () => worker.removeEventListener('error', onError) };
}

class WorkerEngine implements InspectableEngine {
  readonly chat: { readonly completions: ChatCompletions };
  private nextId = 1;
  private disposed: Promise<void> | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly remote: Remote<EngineWorkerApi>,
    readonly info: EngineInfo,
  ) {
    const create = (request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> => this.create(request);
    this.chat = { completions: { create } as ChatCompletions };
  }

  async inspect(request: NonStreamingRequest): Promise<InspectedCompletion> {
    const { id, body, onAbort, signal } = await this.prepare(request);
    try {
      return await this.remote.inspect(id, body);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Images resolved, an id for the request, its signal forwarded to the worker. */
  private async prepare(request: ChatCompletionRequest): Promise<{ id: number; body: WorkerRequest; onAbort: () => void; signal: AbortSignal | undefined }> {
    if (this.disposed) throw new SarashinaError('invalid-request', 'This engine was disposed: create a new engine to run more requests.', {});
    const { signal, ...rest } = request;
    const { messages, bitmaps } = await resolveImages(request.messages);
    const body = transfer<WorkerRequest>({ ...rest, messages }, bitmaps);
    const id = this.nextId++;
    const onAbort = (): void => void this.remote.abort(id);
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
    return { id, body, onAbort, signal };
  }

  private async create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const { id, body, onAbort, signal } = await this.prepare(request);
    if (request.stream !== true) {
      try {
        return await this.remote.complete(id, body);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
    try {
      await this.remote.startStream(id, body);
    } catch (e) {
      signal?.removeEventListener('abort', onAbort);
      throw e;
    }
    const remote = this.remote;
    return (async function* chunks(): AsyncGenerator<ChatCompletionChunk, void, undefined> {
      let finished = false;
      try {
        for (;;) {
          const step = await remote.next(id);
          if (step.done) break;
          yield step.value;
        }
        finished = true;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!finished) await remote.closeStream(id);
      }
    })();
  }

  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      try {
        await this.remote.dispose();
      } finally {
        this.remote[releaseProxy]();
        this.worker.terminate();
      }
    })();
    return this.disposed;
  }
}

/** Replaces every image URL by its Blob (fetched here, with the page's cookies and CORS); collects ImageBitmaps to transfer. */
async function resolveImages(messages: readonly ChatMessage[]): Promise<{ messages: ChatMessage[]; bitmaps: ImageBitmap[] }> {
  const sources = imageSources(messages);
  const resolved = await Promise.all(sources.map((s, i) => resolveImageSource(s, i)));
  const bitmaps = resolved.filter((r): r is ImageBitmap => typeof ImageBitmap !== 'undefined' && r instanceof ImageBitmap);
  let index = 0;
  const out = messages.map((message): ChatMessage => {
    if (!Array.isArray(message.content)) return message;
    const content = (message.content as readonly ContentPart[]).map((part): ContentPart => {
      if (part.type !== 'image_url') return part;
      const data = resolved[index++];
      return data === undefined ? part : { type: 'image_url', image_url: { url: data } };
    });
    return { ...message, content };
  });
  return { messages: out, bitmaps };
}
