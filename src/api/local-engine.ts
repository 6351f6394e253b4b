/**
 * The engine in this thread: chat requests → images fetched and decoded → the generator → OpenAI-shaped
 * completions or chunks. Owns the model, the generator and (when it created it) the GPU context.
 */
import type { GenerateEvent, GenerationResult, Generator } from '../generate/generator';
import type { GpuContext } from '../gpu/gpu-context';
import type { VisionLanguageModel } from '../model/vision-language-model';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EngineInfo } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import { toGenerateRequest } from './chat-request';
import { chunkFrom, completionFrom, newCompletionIdentity } from './completion-format';
import type { ChatCompletions, InspectableEngine, InspectedCompletion, NonStreamingRequest } from './engine';
import { decodeRequestImages, type ImageDecoder } from './image-input';

/** Extra outputs for the CLI and parity tests (not part of the OpenAI shapes). */
export interface RequestHooks {
  /** The logits of the first generated position, full vocabulary. */
  readonly onFirstLogits?: (logits: Float32Array) => void;
  /** The whole result (prompt ids, generated ids) when the request ends. */
  readonly onResult?: (result: GenerationResult) => void;
}

export interface LocalEngineParts {
  readonly info: EngineInfo;
  readonly context: GpuContext;
  /** Whether dispose() destroys the context's device (true when createEngine made it). */
  readonly ownsContext: boolean;
  readonly model: VisionLanguageModel;
  readonly generator: Generator;
  readonly decodeImage: ImageDecoder;
  readonly maxPixels?: number;
  /** The most pixels per image this device's binding limit allows (visionMaxPixels). */
  readonly maxPixelsLimit?: number;
  readonly fetch?: typeof fetch;
}

export class LocalEngine implements InspectableEngine {
  readonly info: EngineInfo;
  readonly chat: { readonly completions: ChatCompletions };
  private disposed: Promise<void> | null = null;
  /** Set when the device is lost: later requests reject with this `device-lost` error (recreate the engine). */
  private lost: SarashinaError | null = null;

  constructor(private readonly parts: LocalEngineParts) {
    this.info = parts.info;
    void parts.context.lost.then((error) => {
      if (!this.disposed) this.lost = error;
    });
    const create = (request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> => this.create(request);
    this.chat = { completions: { create } as ChatCompletions };
  }

  /** The GPU context the engine runs on (its device, capabilities and `lost` promise). */
  get context(): GpuContext {
    return this.parts.context;
  }

  /** The generator behind this engine (tests: prefix and image-cache state). */
  get generator(): Generator {
    return this.parts.generator;
  }

  /** As `chat.completions.create`, with hooks for the CLI's `--dump` and parity tests. */
  async create(request: ChatCompletionRequest, hooks: RequestHooks = {}): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const { parts } = this;
    if (this.disposed) throw new SarashinaError('invalid-request', 'This engine was disposed: create a new engine to run more requests.', {});
    if (this.lost) throw this.lost;
    const decodeStart = performance.now();
    const images = await decodeRequestImages(request.messages, parts.decodeImage, parts.fetch);
    const generateRequest = {
      ...toGenerateRequest(request, images, {
        ...(parts.maxPixels === undefined ? {} : { maxPixels: parts.maxPixels }),
        ...(parts.maxPixelsLimit === undefined ? {} : { maxPixelsLimit: parts.maxPixelsLimit }),
      }),
      imageDecodeMs: performance.now() - decodeStart,
    };
    const events = parts.generator.generate(hooks.onFirstLogits ? { ...generateRequest, onFirstLogits: hooks.onFirstLogits } : generateRequest);
    const identity = newCompletionIdentity(this.info.modelId);
    // Run to the first event now, so that bad requests and context overflows reject create() itself.
    const first = await events.next();
    if (request.stream === true) return streamChunks(identity, first, events, hooks);
    let result: GenerationResult | null = null;
    for (let step = first; !step.done; step = await events.next()) {
      if (step.value.kind === 'done') result = step.value.result;
    }
    if (!result) throw new Error('generator ended without a result');
    hooks.onResult?.(result);
    return completionFrom(identity, result);
  }

  async inspect(request: NonStreamingRequest): Promise<InspectedCompletion> {
    let firstLogits: Float32Array = new Float32Array(0);
    let result: GenerationResult | null = null;
    const completion = (await this.create(
      { ...request, stream: false },
      {
        onFirstLogits: (l) => {
          firstLogits = l;
        },
        onResult: (r) => {
          result = r;
        },
      },
    )) as ChatCompletion;
    const done = result as GenerationResult | null;
    return { completion, inputIds: done ? Array.from(done.inputIds) : [], firstLogits, generatedIds: done ? [...done.generatedIds] : [] };
  }

  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      this.parts.generator.dispose();
      await this.parts.model.dispose();
      if (this.parts.ownsContext) this.parts.context.dispose();
    })();
    return this.disposed;
  }
}

async function* streamChunks(
  identity: ReturnType<typeof newCompletionIdentity>,
  first: IteratorResult<GenerateEvent, void>,
  events: AsyncGenerator<GenerateEvent, void, undefined>,
  hooks: RequestHooks,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  try {
    yield chunkFrom(identity, { role: 'assistant' }, null);
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      if (event.kind === 'token' || event.kind === 'text') {
        if (event.text !== '') yield chunkFrom(identity, { content: event.text }, null);
      } else {
        hooks.onResult?.(event.result);
        yield chunkFrom(identity, {}, event.result.finishReason, event.result);
      }
    }
  } finally {
    // A consumer that stops early ends the request (frees the engine for the next one).
    await events.return(undefined);
  }
}
