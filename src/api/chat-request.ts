/** An OpenAI-style chat request → what the generator runs, with every field checked at the boundary. */
import type { GenerateRequest } from '../generate/generator';
import type { SamplingOptions } from '../protocol/sampling-options';
import type { ChatCompletionRequest } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { DecodedImage } from '../processor/image/decoded-image';

export interface RequestDefaults {
  /** The engine's pixel budget per image (createEngine's maxPixels, within maxPixelsLimit). */
  readonly maxPixels?: number;
  /** The most pixels per image the GPU's binding limit allows (a request's max_pixels is lowered to it). */
  readonly maxPixelsLimit?: number;
}

function bad(field: string, expected: string, value: unknown): never {
  throw new SarashinaError('invalid-request', `${field} must be ${expected}; got ${JSON.stringify(value) ?? String(value)}.`, {
    field,
    expected,
    actual: String(value),
  });
}

/**
 * Validates the request's options (types and ranges; messages are checked by the text processor) and
 * builds the generator's request. Throws `invalid-request` naming the field and the value.
 */
export function toGenerateRequest(request: ChatCompletionRequest, images: readonly DecodedImage[], defaults: RequestDefaults = {}): GenerateRequest {
  if (typeof request !== 'object' || request === null) bad('the request', 'an object {messages, …}', request);
  const { max_tokens: maxTokens, temperature = 0, top_p: topP, top_k: topK, repetition_penalty: penalty, seed, stop, max_pixels: maxPixels, stream } = request;
  if (stream !== undefined && typeof stream !== 'boolean') bad('stream', 'true or false', stream);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) bad('max_tokens', 'a positive integer', maxTokens);
  if (typeof temperature !== 'number') bad('temperature', 'a number ≥ 0', temperature);
  const sampling: SamplingOptions = {
    temperature,
    ...(topP === undefined ? {} : { topP }),
    ...(topK === undefined ? {} : { topK }),
    ...(penalty === undefined ? {} : { repetitionPenalty: penalty }),
    ...(seed === undefined ? {} : { seed }),
  };
  let stops: string[] = [];
  if (typeof stop === 'string') stops = [stop];
  else if (Array.isArray(stop)) stops = [...(stop as readonly unknown[])].map((s, i) => (typeof s === 'string' && s !== '' ? s : bad(`stop[${i}]`, 'a non-empty string', s)));
  else if (stop !== undefined) bad('stop', 'a string or an array of strings', stop);
  if (stops.includes('')) bad('stop', 'a non-empty string', '');
  // The processor checks the value (an integer within its range); the binding limit only lowers it.
  const wanted = maxPixels ?? defaults.maxPixels;
  const limit = defaults.maxPixelsLimit;
  const pixels = limit === undefined ? wanted : Math.min(wanted ?? limit, limit);
  const signal = request.signal;
  if (signal !== undefined && !(typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal)) bad('signal', 'an AbortSignal', typeof signal);
  return {
    messages: request.messages,
    images,
    sampling,
    stop: stops,
    ...(maxTokens === undefined ? {} : { maxNewTokens: maxTokens }),
    ...(pixels === undefined ? {} : { maxPixels: pixels }),
    ...(signal === undefined ? {} : { signal }),
  };
}
