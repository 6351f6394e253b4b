/**
 * Expands each image placeholder id (`<|file|>`, 14) into one copy per image feature, in image order, as the
 * Qwen2-VL processor does in text (`<|file|>` → grid_h·grid_w/4 copies) before tokenizing. Doing it on ids is
 * equivalent because `<|file|>` is a special added token: it is split out before the model sees the text, so
 * the neighbouring pieces do not change.
 */
import { SarashinaError } from '../../protocol/errors';

export interface ImageTokenSpan {
  /** Index of the first image token in the expanded ids. */
  readonly start: number;
  /** Number of image tokens (= image features) of this image. */
  readonly length: number;
}

export interface ExpandedPrompt {
  readonly inputIds: Int32Array;
  /** One span per image, in image order; the decoder's image features go to these positions. */
  readonly imageSpans: readonly ImageTokenSpan[];
}

export interface ExpandOptions {
  readonly imageTokenId: number;
  /** Image tokens per image (grid_h·grid_w/4), in image order. */
  readonly tokenCounts: readonly number[];
}

/**
 * Replaces the i-th `imageTokenId` in `ids` by `tokenCounts[i]` copies. Throws
 * `SarashinaError('invalid-request')` when the number of placeholders differs from the number of images, or a
 * count is not a positive integer.
 */
export function expandImagePlaceholders(ids: readonly number[], options: ExpandOptions): ExpandedPrompt {
  const { imageTokenId, tokenCounts } = options;
  const placeholders = ids.reduce((n, id) => (id === imageTokenId ? n + 1 : n), 0);
  if (placeholders !== tokenCounts.length) {
    throw new SarashinaError(
      'invalid-request',
      `the prompt has ${placeholders} image placeholder(s) (token ${imageTokenId}) but ${tokenCounts.length} ` +
        `image(s) were given: send one image part per image, and no image placeholder text.`,
      { field: 'images', expected: placeholders, actual: tokenCounts.length },
    );
  }
  let total = ids.length - placeholders;
  tokenCounts.forEach((count, i) => {
    if (!Number.isInteger(count) || count <= 0) {
      throw new SarashinaError(
        'invalid-request',
        `image ${i} has ${count} image tokens: the count must be a positive integer (grid_h·grid_w/4).`,
        { field: `tokenCounts[${i}]`, actual: count },
      );
    }
    total += count;
  });
  const inputIds = new Int32Array(total);
  const imageSpans: ImageTokenSpan[] = [];
  let out = 0;
  let image = 0;
  for (const id of ids) {
    if (id !== imageTokenId) {
      inputIds[out++] = id;
      continue;
    }
    const length = tokenCounts[image++] ?? 0;
    imageSpans.push({ start: out, length });
    inputIds.fill(imageTokenId, out, out + length);
    out += length;
  }
  return { inputIds, imageSpans };
}
