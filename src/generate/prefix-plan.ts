/**
 * Prefix reuse: which part of a new prompt is already in the KV cache. The cache remembers, per position,
 * the token id and, for image tokens, the content key of the image it came from, so two prompts that
 * differ only in an image's pixels never share that image's rows.
 */
import type { ImageTokenSpan } from '../processor/text/image-placeholders';

/** What the KV cache holds: ids at positions [0, ids.length) and the image key of each image position. */
export interface CachedPrefix {
  readonly ids: readonly number[];
  /** Same length as `ids`; null at text positions. */
  readonly imageKeys: readonly (string | null)[];
}

export interface PromptKeys {
  readonly inputIds: Int32Array;
  readonly imageSpans: readonly ImageTokenSpan[];
  /** One key per image span, in order. */
  readonly imageKeys: readonly string[];
}

/**
 * The first position to prefill: the length of the common prefix of `cached` and `prompt` (ids and image
 * keys both equal), at most `prompt.length − 1` (the last prompt position must run to produce logits), and
 * moved back to the start of an image span it would otherwise fall inside.
 */
export function reusablePrefixLength(cached: CachedPrefix, prompt: PromptKeys): number {
  const keys = promptImageKeys(prompt);
  const limit = Math.min(cached.ids.length, prompt.inputIds.length - 1);
  let n = 0;
  while (n < limit && cached.ids[n] === prompt.inputIds[n] && (cached.imageKeys[n] ?? null) === (keys[n] ?? null)) n++;
  for (const span of prompt.imageSpans) {
    if (n > span.start && n < span.start + span.length) return span.start;
  }
  return Math.max(0, n);
}

/** Per position of the prompt: the image key at image positions, null elsewhere. */
export function promptImageKeys(prompt: PromptKeys): (string | null)[] {
  const keys = new Array<string | null>(prompt.inputIds.length).fill(null);
  prompt.imageSpans.forEach((span, i) => {
    const key = prompt.imageKeys[i] ?? null;
    for (let p = span.start; p < span.start + span.length; p++) keys[p] = key;
  });
  return keys;
}
