/**
 * One chat request end to end on a loaded model: messages + decoded images → prompt ids fitted to the context
 * before any GPU work (oldest turns dropped, then images shrunk: context-fit.ts) → image features (cached by
 * content) → prefill of only what the KV cache does not already hold → GPU sampling and decode steps → streamed
 * text until a stop, max tokens or abort.
 * Requests run one at a time: a second call waits for the first to finish.
 */
import { readBuffer } from '../gpu/gpu-buffers';
import type { FeatureSpan, ImageFeatures, VisionLanguageModel } from '../model/vision-language-model';
import type { CompletionWarning, ContextTruncation, FinishReason, Timings, Usage } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { ImageProcessorSpec } from '../protocol/model-spec';
import type { DecodedImage } from '../processor/image/decoded-image';
import { preprocessImages } from '../processor/image/preprocess-images';
import type { ChatMessage } from '../processor/text/chat-messages';
import { DEFAULT_STOP_STRINGS } from '../processor/text/stop-string-matcher';
import type { PromptInputs, TextProcessor } from '../processor/text/text-processor';
import { ImageFeatureCache } from '../model/image-feature-cache';
import { fitToContext } from './context-fit';
import { decodedImageKey } from './image-key';
import { type CachedPrefix, promptImageKeys, reusablePrefixLength } from './prefix-plan';
import type { GpuSampler } from '../../shaders/sampler/gpu-sampler';
import { type SamplingOptions, validateSamplingOptions } from '../protocol/sampling-options';

export interface GenerateRequest {
  readonly messages: readonly ChatMessage[];
  /** The decoded images of the messages' image parts, in order of appearance. */
  readonly images: readonly DecodedImage[];
  /** New tokens at most, reserved before the answer starts; default min(512, room left in the context) (context-fit.ts). */
  readonly maxNewTokens?: number;
  readonly sampling: SamplingOptions;
  /** Extra stop strings (`\n###` and EOS always stop). */
  readonly stop?: readonly string[];
  /** Pixel budget per image (may only lower the model's). */
  readonly maxPixels?: number;
  readonly signal?: AbortSignal;
  /** Time already spent fetching and decoding the images (ms), counted into preprocessMs and TTFT. */
  readonly imageDecodeMs?: number;
  /** Receives the logits of the first generated position, full vocabulary (CLI `--dump`, parity tests). */
  readonly onFirstLogits?: (logits: Float32Array) => void;
}

export type GenerateEvent =
  | { readonly kind: 'token'; readonly id: number; readonly text: string }
  /** Text held back until the end (an incomplete character or a possible stop-string start), with no new token. */
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'done'; readonly result: GenerationResult };

export interface GenerationResult {
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly inputIds: Int32Array;
  readonly generatedIds: readonly number[];
  readonly usage: Usage;
  readonly timings: Timings;
  /** What the request asked that the model did not get (empty: nothing). */
  readonly warnings: readonly CompletionWarning[];
}

export interface GeneratorOptions {
  readonly model: VisionLanguageModel;
  readonly text: TextProcessor;
  readonly sampler: GpuSampler;
  /** The device the model and sampler run on (first-logits readback). */
  readonly device: GPUDevice;
  readonly imageSpec: ImageProcessorSpec;
  /** Bytes of image features kept on the GPU across requests (default: the cache's default). */
  readonly imageCacheBytes?: number;
}

/** The request fitted to the context, before any GPU work: the prompt, its images (one per span) and their keys. */
interface FittedRequest {
  readonly prompt: PromptInputs;
  readonly maxNewTokens: number;
  /** Per image span: the decoded image and the pixel budget it is preprocessed with. */
  readonly images: readonly { readonly image: DecodedImage; readonly maxPixels: number | undefined }[];
  readonly imageKeys: readonly string[];
  readonly truncation: ContextTruncation | null;
}

/** What one request prefills: the fitted request, from which position, with which image features. */
interface PrefillPlan extends FittedRequest {
  readonly start: number;
  readonly spans: readonly FeatureSpan[];
}

export class Generator {
  private readonly model: VisionLanguageModel;
  private readonly text: TextProcessor;
  private readonly sampler: GpuSampler;
  private readonly device: GPUDevice;
  private readonly imageSpec: ImageProcessorSpec;
  private readonly features: ImageFeatureCache;
  /** What the KV cache holds now (positions [0, ids.length)). */
  private cached: { ids: number[]; imageKeys: (string | null)[] } = { ids: [], imageKeys: [] };
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(options: GeneratorOptions) {
    this.model = options.model;
    this.text = options.text;
    this.sampler = options.sampler;
    this.device = options.device;
    this.imageSpec = options.imageSpec;
    this.features = new ImageFeatureCache(options.imageCacheBytes === undefined ? {} : { budgetBytes: options.imageCacheBytes });
  }

  /** What the KV cache holds (a copy; for tests and diagnostics). */
  get cachedPrefix(): CachedPrefix {
    return { ids: [...this.cached.ids], imageKeys: [...this.cached.imageKeys] };
  }

  /** Image features held on the GPU. */
  get cachedImageCount(): number {
    return this.features.count;
  }

  /** Forgets the KV-cache contents (the next request prefills from position 0). */
  resetPrefix(): void {
    this.cached = { ids: [], imageKeys: [] };
  }

  /**
   * Runs one request, yielding a `token` event per generated id (with the text it made visible, possibly "")
   * and finally one `done` event. Waits for earlier requests to finish first. A request longer than the context
   * is fitted first (fitToContext: oldest turns dropped, then images shrunk; reported in `usage.truncation`).
   * Throws `SarashinaError`: `invalid-request` for bad messages/images/options, `context-overflow` (before any GPU
   * work, the KV cache untouched) when even the fitted request does not fit. An abort stops within one token with finish reason
   * 'abort'. Leaving the iteration early (break) ends the request and frees the engine for the next.
   */
  async *generate(request: GenerateRequest): AsyncGenerator<GenerateEvent, void, undefined> {
    this.assertOpen();
    const release = await this.acquire();
    try {
      this.assertOpen();
      yield* this.run(request);
    } finally {
      release();
    }
  }

  /** Frees the image features and the sampler. The model is the caller's to dispose. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.features.clear();
    this.sampler.destroy();
    this.resetPrefix();
  }

  private async *run(request: GenerateRequest): AsyncGenerator<GenerateEvent, void, undefined> {
    const t0 = now() - (request.imageDecodeMs ?? 0);
    // The one check of the sampling options per request: the sampler takes them as valid at every token.
    validateSamplingOptions(request.sampling);
    const fit = await this.fitRequest(request);
    const { prompt, imageKeys } = fit;

    const start = reusablePrefixLength(this.cached, { inputIds: prompt.inputIds, imageSpans: prompt.imageSpans, imageKeys });
    const spans: FeatureSpan[] = [];
    const handles: ImageFeatures[] = [];
    let imageEncodeMs = 0;
    let preprocessMs = now() - t0;
    try {
      for (let i = 0; i < prompt.imageSpans.length; i++) {
        const span = prompt.imageSpans[i];
        const key = imageKeys[i];
        const image = fit.images[i];
        if (!span || key === undefined || !image || span.start < start) continue;
        if (request.signal?.aborted) break; // nothing will be prefilled: decodeLoop finishes with 'abort'
        let features = this.features.get(key);
        if (!features) {
          const tp = now();
          const pixels = preprocessImages([image.image], this.imageSpec, image.maxPixels === undefined ? {} : { maxPixels: image.maxPixels });
          preprocessMs += now() - tp;
          const te = now();
          const encoded = await this.model.encodeImages({ pixelValues: pixels.pixelValues, grids: pixels.grids });
          // The model's promises resolve once the work is queued; wait for the GPU so the timing is the encode's own.
          await this.device.queue.onSubmittedWorkDone();
          imageEncodeMs += now() - te;
          checkFeatureRows(encoded, span.length, i);
          features = this.features.put(key, encoded);
        }
        handles.push(features);
        spans.push({ start: span.start - start, length: span.length, features, featureRow: 0 });
      }
      yield* this.decodeLoop(request, { ...fit, start, spans }, { t0, preprocessMs, imageEncodeMs });
    } finally {
      for (const h of handles) h.release();
    }
  }

  private async *decodeLoop(
    request: GenerateRequest,
    plan: PrefillPlan,
    times: { readonly t0: number; readonly preprocessMs: number; readonly imageEncodeMs: number },
  ): AsyncGenerator<GenerateEvent, void, undefined> {
    const { t0, preprocessMs, imageEncodeMs } = times;
    const { prompt, start, spans, imageKeys, maxNewTokens, truncation } = plan;
    const promptTokens = prompt.inputIds.length;
    const imageTokens = prompt.imageSpans.reduce((n, s) => n + s.length, 0);
    const keys = promptImageKeys({ inputIds: prompt.inputIds, imageSpans: prompt.imageSpans, imageKeys });
    const stream = this.text.createOutputStream({ stopStrings: [...DEFAULT_STOP_STRINGS, ...(request.stop ?? [])] });
    const sampling = withSeed(request.sampling);
    const penalized = (sampling.repetitionPenalty ?? 1) !== 1;
    this.sampler.clearPreviousIds();
    if (penalized) this.sampler.addPreviousIds(prompt.inputIds);

    const generatedIds: number[] = [];
    let text = '';
    let finishReason: FinishReason = 'length';
    let prefillMs = 0;
    let prefilled = false;
    let firstTokenAt = 0;
    let lastTokenAt = 0;
    const aborted = (): boolean => request.signal?.aborted === true;
    // From here the KV cache is being rewritten: until a step completes, it holds only the reused prefix.
    this.truncateCache(start);
    try {
      if (aborted()) {
        finishReason = 'abort';
      } else {
        const tp = now();
        let logits = await this.model.prefill(prompt.inputIds.subarray(start), start, spans);
        await this.device.queue.onSubmittedWorkDone();
        prefillMs = now() - tp;
        prefilled = true;
        this.cached = { ids: Array.from(prompt.inputIds), imageKeys: keys };
        if (request.onFirstLogits) {
          const vocab = this.model.spec.text.vocabSize;
          request.onFirstLogits(new Float32Array(await readBuffer(this.device, logits, vocab * 4)));
        }
        // One step ahead: the next decode step is queued before this token is read back (its input id is already in
        // the sampler's token buffer on the GPU), so the GPU never waits for the CPU's round trip. When the token turns
        // out to end the request, that step was wasted work: its KV row lies past what `cached` records.
        let pendingId = this.sampler.sample(logits, sampling, 0);
        for (let step = 0; ; step++) {
          const position = promptTokens + step;
          const ahead = generatedIds.length + 1 < maxNewTokens && !aborted() ? this.model.decode(this.sampler.tokenBuffer, position) : null;
          // If the request ends before this step is used, its failure (if any) surfaces on the next request.
          ahead?.catch(() => undefined);
          const id = await pendingId;
          lastTokenAt = now();
          if (step === 0) firstTokenAt = lastTokenAt;
          generatedIds.push(id);
          if (penalized) this.sampler.addPreviousIds([id]);
          const out = stream.push(id);
          text += out.text;
          yield { kind: 'token', id, text: out.text };
          if (out.stop) {
            finishReason = 'stop';
            break;
          }
          if (generatedIds.length >= maxNewTokens) {
            finishReason = 'length';
            break;
          }
          if (aborted() || !ahead) {
            finishReason = 'abort';
            break;
          }
          logits = await ahead;
          this.cached.ids.push(id);
          this.cached.imageKeys.push(null);
          pendingId = this.sampler.sample(logits, sampling, step + 1);
        }
      }
    } catch (e) {
      // A failed GPU step leaves the cache contents unknown: the next request prefills from scratch.
      this.resetPrefix();
      throw e;
    }
    const tail = stream.finish();
    if (tail) {
      text += tail;
      yield { kind: 'text', text: tail };
    }
    const decodeMs = generatedIds.length > 1 ? lastTokenAt - firstTokenAt : 0;
    yield {
      kind: 'done',
      result: {
        text,
        finishReason,
        inputIds: prompt.inputIds,
        generatedIds,
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: generatedIds.length,
          total_tokens: promptTokens + generatedIds.length,
          prefilled_tokens: prefilled ? promptTokens - start : 0,
          image_tokens: imageTokens,
          ...(truncation ? { truncation } : {}),
        },
        timings: {
          preprocessMs,
          imageEncodeMs,
          prefillMs,
          timeToFirstTokenMs: firstTokenAt > 0 ? firstTokenAt - t0 : 0,
          decodeMs,
          decodeTokensPerSecond: decodeMs > 0 ? ((generatedIds.length - 1) * 1000) / decodeMs : 0,
        },
        warnings: requestWarnings(request, prompt),
      },
    };
  }

  /** The request fitted to the context, its images' keys and the max-token budget, all before any GPU work. */
  private async fitRequest(request: GenerateRequest): Promise<FittedRequest> {
    const { maxPixels, maxNewTokens } = request;
    const fit = fitToContext(
      {
        messages: request.messages,
        images: request.images,
        contextTokens: this.model.contextTokens,
        ...(maxPixels === undefined ? {} : { maxPixels }),
        ...(maxNewTokens === undefined ? {} : { maxNewTokens }),
      },
      { text: this.text, imageSpec: this.imageSpec },
    );
    const images = await Promise.all(
      fit.images.map(async (f) => {
        const image = request.images[f.index];
        if (!image) throw new SarashinaError('internal', `the fitted request names image ${f.index} of ${request.images.length}: report this.`, { index: f.index });
        return { image, maxPixels: f.maxPixels, key: await decodedImageKey(image, { width: f.plan.resizedWidth, height: f.plan.resizedHeight }) };
      }),
    );
    return {
      prompt: fit.prompt,
      maxNewTokens: fit.maxNewTokens,
      images: images.map(({ image, maxPixels }) => ({ image, maxPixels })),
      imageKeys: images.map((i) => i.key),
      truncation: fit.truncation,
    };
  }

  private truncateCache(length: number): void {
    this.cached.ids.length = Math.min(this.cached.ids.length, length);
    this.cached.imageKeys.length = Math.min(this.cached.imageKeys.length, length);
  }

  private assertOpen(): void {
    if (this.disposed) {
      throw new SarashinaError('invalid-request', 'This engine was disposed: create a new engine to run more requests.', {});
    }
  }

  private async acquire(): Promise<() => void> {
    const previous = this.queue;
    let release: () => void = () => undefined;
    this.queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    return release;
  }
}

function checkFeatureRows(features: ImageFeatures, expected: number, index: number): void {
  if (features.rows !== expected) {
    features.release();
    throw new SarashinaError(
      'internal',
      `image ${index}: the vision tower returned ${features.rows} feature rows but the prompt has ${expected} image tokens for it. Report this with the image size.`,
      { index, rows: features.rows, expected },
    );
  }
}

/** The warnings of a request whose prompt is `prompt` (the processor knows whether the template used its system messages). */
function requestWarnings(request: GenerateRequest, prompt: PromptInputs): CompletionWarning[] {
  if (!prompt.systemMessageIgnored) return [];
  const count = request.messages.filter((m) => m.role === 'system').length;
  return [
    {
      code: 'system-message-ignored',
      message:
        `${count} system message(s) were not given to the model: its chat template leaves them out of the prompt. ` +
        'Put the instruction in the first user message instead.',
    },
  ];
}

/** Sampling needs a seed: a random one per request unless the caller fixed it (greedy ignores it). */
function withSeed(sampling: SamplingOptions): SamplingOptions {
  if (sampling.seed !== undefined || sampling.temperature === 0) return sampling;
  return { ...sampling, seed: Math.floor(Math.random() * 0x100000000) >>> 0 };
}

function now(): number {
  return performance.now();
}
