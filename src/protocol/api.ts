/**
 * The public API's shapes: OpenAI-style chat completions with `image_url` parts, the engine options and
 * the streamed chunks. The same types cross the worker boundary, so everything here is structured-clonable
 * except the image sources and signals that the client side resolves first.
 */
/** An image as the user gives it: a data:/http(s)/blob: URL, a Blob, or an ImageBitmap. */
export type ImageSource = string | Blob | ImageBitmap;

export interface TextPart {
  readonly type: 'text';
  readonly text: string;
}

export interface ImageUrlPart {
  readonly type: 'image_url';
  readonly image_url: { readonly url: ImageSource } | ImageSource;
}

export type ContentPart = TextPart | ImageUrlPart;

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string | readonly ContentPart[];
}

export interface ChatCompletionRequest {
  /**
   * The conversation. When it does not fit the context with room for the answer, the oldest whole turns are left
   * out, then the remaining images shrunk (see `Usage.truncation`); what cannot fit even so is refused with
   * `context-overflow` before any GPU work.
   */
  readonly messages: readonly ChatMessage[];
  readonly stream?: boolean;
  /**
   * New tokens at most, reserved in full before the answer starts (older turns are left out to make room); a value
   * that cannot fit even then is refused with `context-overflow`, never clamped. Default: min(512, what the
   * context leaves), with at least min(64, context / 4) tokens reserved.
   */
  readonly max_tokens?: number;
  /** 0 = greedy (default 0, as the model card runs it). */
  readonly temperature?: number;
  readonly top_p?: number;
  readonly top_k?: number;
  readonly repetition_penalty?: number;
  /** Extra stop strings (`\n###` and EOS always stop). */
  readonly stop?: string | readonly string[];
  readonly seed?: number;
  /** Lower the image pixel budget for this request (pixels per image). */
  readonly max_pixels?: number;
  readonly signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  /** Prompt tokens actually run through prefill (the rest came from the reused prefix). */
  readonly prefilled_tokens: number;
  readonly image_tokens: number;
  /** Present when the request was fitted to the context: what was left out or shrunk. Absent when it fitted as sent. */
  readonly truncation?: ContextTruncation;
}

/**
 * How a request that did not fit the context (prompt + answer budget > context tokens) was made to fit, before any
 * GPU work: first the oldest whole turns were left out, then the images of the remaining messages were shrunk.
 */
export interface ContextTruncation {
  /**
   * User and assistant messages left out, all from the start of the conversation: whole turns (a user message with
   * the assistant messages after it), never the latest user message. System messages are always kept.
   */
  readonly dropped_messages: number;
  /** Image parts of the dropped messages (they went with them). */
  readonly dropped_images: number;
  /** Images of the kept messages encoded smaller than the request's pixel budget, so that the prompt fits. */
  readonly resized_images: readonly ResizedImage[];
}

/** One image shrunk to fit the context (same smart resize as the processor: aspect kept, sides multiples of 28). */
export interface ResizedImage {
  /** Index among the request's image parts (order of appearance over all messages, dropped ones counted). */
  readonly index: number;
  /** The size it was encoded at, in pixels. */
  readonly width: number;
  readonly height: number;
  /** The pixel budget it was given (never below the processor's min_pixels). */
  readonly max_pixels: number;
  /** Its image tokens now, and at the request's pixel budget. */
  readonly image_tokens: number;
  readonly original_image_tokens: number;
}

/**
 * Something about a request the caller should know although it succeeded. `system-message-ignored`: the model's chat
 * template renders no system turn (Sarashina's does not: its fixed preamble is the system prompt the model was trained
 * with), so the request's system message(s) did not reach the model.
 */
export interface CompletionWarning {
  readonly code: CompletionWarningCode;
  /** What happened, with the numbers, and what to do instead. */
  readonly message: string;
}

export type CompletionWarningCode = 'system-message-ignored';

/** Timings of one request, in milliseconds. */
export interface Timings {
  readonly preprocessMs: number;
  readonly imageEncodeMs: number;
  readonly prefillMs: number;
  readonly timeToFirstTokenMs: number;
  readonly decodeMs: number;
  readonly decodeTokensPerSecond: number;
}

export interface ChatCompletion {
  readonly id: string;
  readonly object: 'chat.completion';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly [
    {
      readonly index: 0;
      readonly message: { readonly role: 'assistant'; readonly content: string };
      readonly finish_reason: FinishReason;
    },
  ];
  readonly usage: Usage;
  readonly timings: Timings;
  /** Present when something about the request was not done as asked (e.g. a system message the template ignores). */
  readonly warnings?: readonly CompletionWarning[];
}

export interface ChatCompletionChunk {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly [
    {
      readonly index: 0;
      readonly delta: { readonly role?: 'assistant'; readonly content?: string };
      readonly finish_reason: FinishReason | null;
    },
  ];
  /** Present on the last chunk. */
  readonly usage?: Usage;
  readonly timings?: Timings;
  /** On the last chunk, when the completion has warnings (see ChatCompletion.warnings). */
  readonly warnings?: readonly CompletionWarning[];
}

export type PrecisionVariant = 'fp32' | 'q4f32' | 'q4f16';

export interface LoadProgress {
  /**
   * download: a package's files; convert: an original checkpoint converted while it downloads (loadedBytes and
   * totalBytes are checkpoint tensor bytes converted / to convert, files are tensors); upload; compile.
   */
  readonly phase: 'download' | 'convert' | 'upload' | 'compile';
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesPerSecond: number;
  readonly etaSeconds: number | null;
  /** convert: checkpoint bytes downloaded by this load (a resumed conversion's earlier work not counted). */
  readonly downloadedBytes?: number;
}

export interface EngineOptions {
  /**
   * URL (or, in Node, a directory) of the model: a folder holding variants.json (a model published in several
   * precision variants, one folder each) or manifest.json (one package); or an original Hugging Face checkpoint,
   * converted on this machine and cached under its revision: a Hub id (`sbintuitions/sarashina2-vision-8b`,
   * `org/name@revision`), a Hub URL (https://huggingface.co/org/name), or a folder with config.json and
   * model*.safetensors but no manifest.json.
   */
  readonly model: string;
  /** A Hub checkpoint's branch, tag or commit (default main). */
  readonly revision?: string;
  /** A Hugging Face access token for a private or gated Hub repository: sent only to the Hub, never stored. */
  readonly token?: string;
  /** The Hub to resolve ids against (default https://huggingface.co; a mirror, or a local server in tests). */
  readonly hubEndpoint?: string;
  /**
   * Largest weight shard of a package converted from a checkpoint (default 256 MiB, as `npm run export`). An
   * interrupted conversion resumes at the shard it was writing, so smaller shards lose less work on a cut.
   */
  readonly checkpointShardBytes?: number;
  /** Use this variant (it must be offered and runnable here, else a typed error before any download). Default: the fastest that fits. */
  readonly precision?: PrecisionVariant;
  /**
   * KV-cache capacity in tokens. Default: the model's max_position_embeddings when the memory estimate (weights +
   * KV cache + peak activations) fits `memoryBudgetBytes`, else the largest context that fits. A requested context
   * that does not fit is a typed error before any download.
   */
  readonly contextTokens?: number;
  /**
   * GPU memory the engine may plan for, in bytes. WebGPU does not report memory sizes; the default is
   * DEFAULT_MEMORY_BUDGET_BYTES (8 GiB), or half of `navigator.deviceMemory` when the browser reports less than 8 GiB
   * of RAM (src/model/memory-estimate.ts).
   */
  readonly memoryBudgetBytes?: number;
  /** Default image pixel budget (pixels per image). */
  readonly maxPixels?: number;
  readonly onProgress?: (p: LoadProgress) => void;
  readonly signal?: AbortSignal;
}

/** GPU memory of a loaded engine at its context, as planned before the download (bytes). */
export interface MemoryEstimate {
  /** Every weight buffer. */
  readonly weightsBytes: number;
  /** K and V of every layer at the context, in the variant's KV dtype. */
  readonly kvCacheBytes: number;
  /** The largest working set of one request: one image at the pixel budget, or one prefill run, plus fixed buffers. */
  readonly activationsBytes: number;
  readonly totalBytes: number;
}

export interface EngineInfo {
  readonly modelId: string;
  readonly precision: PrecisionVariant;
  readonly contextTokens: number;
  readonly adapter: string;
  /** Why this precision: e.g. "q4f32: the adapter has no shader-f16, so not q4f16". */
  readonly precisionReason: string;
  /** The memory estimate at contextTokens. */
  readonly memoryEstimate: MemoryEstimate;
  /** The budget the context was planned within. */
  readonly memoryBudgetBytes: number;
  /** Where the budget came from (the option, navigator.deviceMemory, or the default). */
  readonly memoryBudgetReason: string;
  /**
   * The pixel budget per image: createEngine's maxPixels, else the image processor's, lowered to what one storage
   * binding of this device holds for the vision tower's widest activation (on a 128 MiB binding the 8B's tower
   * holds ≈ 1.28 MP; larger images are resized down to it, as the processor resizes any image).
   */
  readonly maxPixels: number;
}
