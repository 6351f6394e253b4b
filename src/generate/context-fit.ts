/**
 * Fitting a request to the context before any GPU work: prompt tokens + the answer's token budget must be at most
 * the KV cache's capacity. A request that does not fit loses its oldest whole turns first (a long chat keeps going),
 * then its remaining images are shrunk (a large photo on a small context still gets an answer); what cannot fit
 * even so is refused with `context-overflow` and the numbers. Everything is measured with the real template,
 * tokenizer and image plan, so the fitted prompt is exactly the one that runs.
 */
import type { ContextTruncation, ResizedImage } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { ImageProcessorSpec } from '../protocol/model-spec';
import { type ImagePlan, planImage } from '../processor/image/preprocess-images';
import type { ChatMessage } from '../processor/text/chat-messages';
import type { PromptInputs, TextProcessor } from '../processor/text/text-processor';

/** Default `max_tokens` when the request gives none (then also capped by the room the prompt leaves). */
export const DEFAULT_MAX_NEW_TOKENS = 512;

/**
 * Without `max_tokens`, at least this many tokens (or a quarter of the context, if smaller) are kept free for the
 * answer: older turns are dropped rather than leaving room for a few words only. A quarter, so that a test-sized
 * context (64 tokens) still takes prompts.
 */
export const MIN_ANSWER_TOKENS = 64;

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

export interface FitRequest {
  readonly messages: readonly ChatMessage[];
  /** Sizes of the request's images: its image parts in order of appearance over all messages. */
  readonly images: readonly ImageSize[];
  /** The request's pixel budget per image (may only lower the model's); undefined = the model's. */
  readonly maxPixels?: number;
  /** Positions available for prompt + answer (the KV cache's capacity). */
  readonly contextTokens: number;
  /** The caller's max_tokens; undefined = the default. */
  readonly maxNewTokens?: number;
}

export interface FitProcessors {
  readonly text: Pick<TextProcessor, 'encodePrompt'>;
  readonly imageSpec: ImageProcessorSpec;
}

export interface FittedImage {
  /** Index among the request's images. */
  readonly index: number;
  /** The pixel budget to preprocess it with (undefined = the model's). */
  readonly maxPixels: number | undefined;
  /** Where it ends up at that budget (its token count is its span's length in the prompt). */
  readonly plan: ImagePlan;
}

export interface FittedPrompt {
  /** The messages that run (the request's, less the dropped turns). */
  readonly messages: readonly ChatMessage[];
  readonly prompt: PromptInputs;
  /** The images that run, one per span of `prompt.imageSpans`, in order. */
  readonly images: readonly FittedImage[];
  /** The answer's token budget: max_tokens, or min(DEFAULT_MAX_NEW_TOKENS, the room the prompt leaves). */
  readonly maxNewTokens: number;
  /** What was left out or shrunk; null when the request fitted as sent. */
  readonly truncation: ContextTruncation | null;
}

/** Tokens the answer is guaranteed: max_tokens when given, else min(MIN_ANSWER_TOKENS, context / 4), at least 1. */
export function answerReserveTokens(contextTokens: number, maxNewTokens: number | undefined): number {
  return maxNewTokens ?? Math.max(1, Math.min(MIN_ANSWER_TOKENS, Math.floor(contextTokens / 4)));
}

/**
 * The oldest-first turns that may be dropped, as lists of message indexes. A turn is a user message and the
 * assistant messages after it (assistant messages before the first user message form a turn of their own). The
 * turn of the latest user message, and anything after it, is never droppable; system messages belong to no turn
 * and are always kept. A conversation without a user message has nothing droppable.
 */
export function droppableTurns(messages: readonly ChatMessage[]): number[][] {
  const lastUser = messages.map((m) => m.role).lastIndexOf('user');
  const turns: number[][] = [];
  for (let i = 0; i < lastUser; i++) {
    const role = messages[i]?.role;
    if (role === 'system') continue;
    const current = turns[turns.length - 1];
    if (role === 'user' || !current) turns.push([i]);
    else current.push(i);
  }
  return turns;
}

/**
 * Fits `request` to `contextTokens`, measuring every candidate with the real template, tokenizer and image plan:
 * 1. as sent, when prompt + answer budget fits;
 * 2. else without the fewest oldest whole turns (droppableTurns) that make it fit — their images go with them;
 * 3. else, with every droppable turn gone, the remaining images get one common, lower pixel budget: the largest
 *    (never below the processor's min_pixels) at which they fit.
 * Throws `context-overflow` (with the prompt tokens at their smallest, the answer budget and the context) when even
 * step 3 at the minimum does not fit, `invalid-request` for bad messages, images or max_tokens.
 */
export function fitToContext(request: FitRequest, processors: FitProcessors): FittedPrompt {
  const { messages, contextTokens, maxNewTokens: requested } = request;
  const { text, imageSpec } = processors;
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new SarashinaError('invalid-request', `max_tokens is ${requested}: pass a positive integer.`, { field: 'max_tokens', actual: requested });
  }
  const reserve = answerReserveTokens(contextTokens, requested);
  const promptBudget = contextTokens - reserve;
  const basePixels = request.maxPixels;
  const plans = request.images.map((image, index) => planAt(image, index, imageSpec, basePixels));
  const fitted = (plan: ImagePlan, index: number): FittedImage => ({ index, maxPixels: basePixels, plan });
  const answerBudget = (prompt: PromptInputs): number => requested ?? Math.min(DEFAULT_MAX_NEW_TOKENS, contextTokens - prompt.inputIds.length);

  // 1. As sent: this also validates every message (errors name the request's own indexes).
  const full = text.encodePrompt({ messages, imageTokenCounts: plans.map((p) => p.tokenCount) });
  if (full.inputIds.length <= promptBudget) {
    return { messages, prompt: full, images: plans.map(fitted), maxNewTokens: answerBudget(full), truncation: null };
  }

  // 2. Drop the oldest whole turns: the fewest that make it fit (binary search; fewer dropped turns never make a
  // prompt shorter, so the first fitting count is the smallest).
  const turns = droppableTurns(messages);
  const imagesOf = messageImageIndexes(messages);
  const candidate = (dropTurns: number) => {
    const dropped = new Set(turns.slice(0, dropTurns).flat());
    const kept = messages.filter((_, i) => !dropped.has(i));
    const images = messages.flatMap((_, i) => (dropped.has(i) ? [] : (imagesOf[i] ?? [])));
    const prompt = text.encodePrompt({ messages: kept, imageTokenCounts: images.map((i) => plans[i]?.tokenCount ?? 0) });
    return { dropped: dropped.size, kept, images, prompt };
  };
  let best = turns.length > 0 ? candidate(turns.length) : { dropped: 0, kept: messages, images: plans.map((_, i) => i), prompt: full };
  if (best.prompt.inputIds.length <= promptBudget) {
    let lo = 1;
    let hi = turns.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const c = candidate(mid);
      if (c.prompt.inputIds.length <= promptBudget) {
        hi = mid;
        best = c;
      } else {
        lo = mid + 1;
      }
    }
    const truncation = { dropped_messages: best.dropped, dropped_images: plans.length - best.images.length, resized_images: [] };
    return { messages: best.kept, prompt: best.prompt, images: best.images.map((i) => fitted(plans[i] as ImagePlan, i)), maxNewTokens: answerBudget(best.prompt), truncation };
  }

  // 3. Shrink the remaining images. Prompt length is linear in the image token counts (each <|file|> becomes that
  // many tokens; the text's ids do not depend on them), so the room for images is known from one measurement.
  const keptImages = best.images;
  const imageTokens = (pixels: number | undefined): number =>
    keptImages.reduce((n, i) => n + planAt(request.images[i] as ImageSize, i, imageSpec, pixels).tokenCount, 0);
  const textTokens = best.prompt.inputIds.length - imageTokens(basePixels);
  const imageRoom = promptBudget - textTokens;
  const ceiling = basePixels ?? imageSpec.maxPixels;
  const floor = Math.min(ceiling, Math.max(imageSpec.minPixels, (imageSpec.patchSize * imageSpec.mergeSize) ** 2));
  const canShrink = imageSpec.doResize && keptImages.length > 0;
  const smallest = canShrink ? imageTokens(floor) : imageTokens(basePixels);
  if (smallest > imageRoom) {
    throw overflowError({
      contextTokens,
      promptTokens: textTokens + smallest,
      imageTokens: smallest,
      answerTokens: reserve,
      maxTokensGiven: requested !== undefined,
      droppedMessages: best.dropped,
      imagesAtMinimum: canShrink ? keptImages.length : 0,
      minPixels: floor,
    });
  }
  // The largest budget that fits: token counts never grow when the budget shrinks (smart_resize floors both sides).
  // Invariant: `lo` fits (checked above), `hi` does not (step 2 measured the images at the request's budget).
  let lo = floor;
  let hi = ceiling;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (imageTokens(mid) <= imageRoom) lo = mid;
    else hi = mid;
  }
  const pixels = lo;
  const resized: ResizedImage[] = [];
  const images = keptImages.map((index): FittedImage => {
    const before = plans[index] as ImagePlan;
    const plan = planAt(request.images[index] as ImageSize, index, imageSpec, pixels);
    if (plan.tokenCount === before.tokenCount) return fitted(before, index);
    resized.push({
      index,
      width: plan.resizedWidth,
      height: plan.resizedHeight,
      max_pixels: pixels,
      image_tokens: plan.tokenCount,
      original_image_tokens: before.tokenCount,
    });
    return { index, maxPixels: pixels, plan };
  });
  const prompt = text.encodePrompt({ messages: best.kept, imageTokenCounts: images.map((i) => i.plan.tokenCount) });
  if (prompt.inputIds.length > promptBudget) {
    // Would mean the prompt is not linear in the image token counts: a bug, not the user's request.
    throw new SarashinaError(
      'internal',
      `the fitted prompt has ${prompt.inputIds.length} tokens, over the ${promptBudget} planned for it: report this with the request's image sizes.`,
      { promptTokens: prompt.inputIds.length, promptBudget },
    );
  }
  const truncation = { dropped_messages: best.dropped, dropped_images: plans.length - keptImages.length, resized_images: resized };
  return { messages: best.kept, prompt, images, maxNewTokens: answerBudget(prompt), truncation };
}

/** Per message, the indexes of its image parts among all the request's images. */
function messageImageIndexes(messages: readonly ChatMessage[]): number[][] {
  let next = 0;
  return messages.map((m) => (typeof m.content === 'string' ? [] : m.content.filter((p) => p.type === 'image_url').map(() => next++)));
}

function planAt(image: ImageSize, index: number, spec: ImageProcessorSpec, maxPixels: number | undefined): ImagePlan {
  try {
    return planImage(image.height, image.width, spec, maxPixels === undefined ? {} : { maxPixels });
  } catch (e) {
    if (e instanceof SarashinaError) throw new SarashinaError(e.code, `image ${index}: ${e.message}`, { ...e.details, index });
    throw e;
  }
}

interface Overflow {
  readonly contextTokens: number;
  /** The prompt at its smallest: earlier turns dropped, images at the minimum. */
  readonly promptTokens: number;
  readonly imageTokens: number;
  readonly answerTokens: number;
  readonly maxTokensGiven: boolean;
  readonly droppedMessages: number;
  readonly imagesAtMinimum: number;
  readonly minPixels: number;
}

function overflowError(o: Overflow): SarashinaError {
  const needed = o.promptTokens + o.answerTokens;
  const over = needed - o.contextTokens;
  const tried = [
    ...(o.droppedMessages > 0 ? [`its ${o.droppedMessages} earlier message(s) left out`] : []),
    ...(o.imagesAtMinimum > 0 ? [`its ${o.imagesAtMinimum} image(s) at the processor's minimum of ${o.minPixels} pixels`] : []),
  ];
  const even = tried.length > 0 ? `, even with ${tried.join(' and ')}` : '';
  const imagePart = o.imageTokens > 0 ? ` (${o.imageTokens} of them image tokens)` : '';
  const answer = o.maxTokensGiven
    ? `max_tokens is ${o.answerTokens}`
    : `${o.answerTokens} tokens are kept for the answer (the least reserved when max_tokens is not given)`;
  const room = o.contextTokens - o.promptTokens;
  const todo = [
    ...(room > 0 ? [`${o.maxTokensGiven ? 'lower' : 'pass'} max_tokens ${o.maxTokensGiven ? 'to' : 'of'} at most ${room}`] : []),
    `shorten the last message${o.imageTokens > 0 ? ' or send fewer images' : ''}`,
    `create the engine with a larger contextTokens`,
  ];
  return new SarashinaError(
    'context-overflow',
    `The request does not fit the context of ${o.contextTokens} tokens${even}: the prompt has ${o.promptTokens} tokens${imagePart} ` +
      `and ${answer}, together ${needed}, ${over} over. To fit: ${todo.join(', or ')}.`,
    {
      promptTokens: o.promptTokens,
      imageTokens: o.imageTokens,
      maxNewTokens: o.answerTokens,
      contextTokens: o.contextTokens,
      overBy: over,
      droppedMessages: o.droppedMessages,
    },
  );
}
