/**
 * The engine in a dedicated Worker: createEngine (browser platform) behind comlink. Streams are pulled
 * chunk by chunk by the client (engine-client.ts), so they arrive in order and stop when the client stops.
 */
import { expose, transfer } from 'comlink';
import { createEngine } from '../src/api/create-engine';
import type { LocalEngine } from '../src/api/local-engine';
import type { ChatCompletion, ChatCompletionChunk } from '../src/protocol/api';
import { useOrtWasmFile } from '../src/ort/ort-runtime';
import { SarashinaError } from '../src/protocol/errors';
import { installErrorTransfer } from './error-transfer';
import type { EngineWorkerApi, WorkerRequest } from './worker-protocol';

installErrorTransfer();

let engine: LocalEngine | null = null;
let initController: AbortController | null = null;
const controllers = new Map<number, AbortController>();
const streams = new Map<number, AsyncIterator<ChatCompletionChunk>>();
/**
 * Requests aborted before they arrived: the client forwards an abort as soon as the signal fires, which can be before
 * its request message is sent (a stop pressed while images are being read); without this the request would run in
 * full. The client's ids only grow, so an id above every one started will still arrive, and nothing is left here.
 */
const abortedEarly = new Set<number>();
let highestStarted = 0;

function loaded(): LocalEngine {
  if (!engine) throw new SarashinaError('invalid-request', 'The worker engine is not loaded (or was disposed): create a new engine.', {});
  return engine;
}

function withSignal(requestId: number, request: WorkerRequest): WorkerRequest & { signal: AbortSignal } {
  const controller = new AbortController();
  controllers.set(requestId, controller);
  highestStarted = Math.max(highestStarted, requestId);
  if (abortedEarly.delete(requestId)) controller.abort();
  return { ...request, signal: controller.signal };
}

const api: EngineWorkerApi = {
  async init(options, onProgress, assets) {
    if (engine) throw new SarashinaError('invalid-request', 'This worker already holds an engine: dispose it first.', {});
    if (assets?.ortWasmUrl) useOrtWasmFile(assets.ortWasmUrl);
    initController = new AbortController();
    try {
      engine = await createEngine({ ...options, signal: initController.signal, ...(onProgress ? { onProgress: (p) => void onProgress(p) } : {}) });
      return engine.info;
    } finally {
      initController = null;
    }
  },
  abortInit() {
    initController?.abort();
  },
  async complete(requestId, request) {
    try {
      return (await loaded().create({ ...withSignal(requestId, request), stream: false })) as ChatCompletion;
    } finally {
      controllers.delete(requestId);
    }
  },
  async inspect(requestId, request) {
    try {
      const out = await loaded().inspect({ ...withSignal(requestId, request), stream: false });
      return transfer(out, [out.firstLogits.buffer]);
    } finally {
      controllers.delete(requestId);
    }
  },
  async startStream(requestId, request) {
    try {
      const iterable = (await loaded().create({ ...withSignal(requestId, request), stream: true })) as AsyncIterable<ChatCompletionChunk>;
      streams.set(requestId, iterable[Symbol.asyncIterator]());
    } catch (e) {
      controllers.delete(requestId);
      throw e;
    }
  },
  async next(requestId) {
    const iterator = streams.get(requestId);
    if (!iterator) return { done: true, value: undefined };
    try {
      const step = await iterator.next();
      if (step.done) end(requestId);
      return step.done ? { done: true, value: undefined } : step;
    } catch (e) {
      end(requestId);
      throw e;
    }
  },
  async closeStream(requestId) {
    const iterator = streams.get(requestId);
    end(requestId);
    await iterator?.return?.();
  },
  abort(requestId) {
    const controller = controllers.get(requestId);
    if (controller) controller.abort();
    else if (requestId > highestStarted) abortedEarly.add(requestId);
  },
  async dispose() {
    for (const c of controllers.values()) c.abort();
    for (const id of [...streams.keys()]) await api.closeStream(id);
    const e = engine;
    engine = null;
    await e?.dispose();
  },
};

function end(requestId: number): void {
  streams.delete(requestId);
  controllers.delete(requestId);
}

expose(api);
