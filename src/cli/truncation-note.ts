/** The chat CLI's line about a request fitted to the context (usage.truncation), for stderr. */
import type { ContextTruncation } from '../protocol/api';

/**
 * One line saying what was left out or shrunk, e.g. "[context] image 0 shrunk to 392×280 px (140 image tokens, 252 at
 * the full budget)"; "" when nothing was. A `--dump` of such a run is of the fitted prompt, not of the one asked for.
 */
export function truncationNote(truncation: ContextTruncation | undefined): string {
  if (!truncation) return '';
  const parts = [
    ...(truncation.dropped_messages > 0 ? [`${truncation.dropped_messages} oldest message(s) left out (${truncation.dropped_images} image(s) with them)`] : []),
    ...truncation.resized_images.map(
      (r) => `image ${r.index} shrunk to ${r.width}×${r.height} px (${r.image_tokens} image tokens, ${r.original_image_tokens} at the full budget)`,
    ),
  ];
  return parts.length === 0 ? '' : `[context] to fit the context: ${parts.join('; ')}`;
}
