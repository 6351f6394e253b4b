/** The context-length check made before any GPU work: prompt plus generation must fit the KV cache. */
import { SarashinaError } from '../../protocol/errors';

export interface ContextBudget {
  readonly promptTokens: number;
  readonly maxNewTokens: number;
  /** Positions available (the model's max_position_embeddings or the engine's smaller KV-cache capacity). */
  readonly contextTokens: number;
  /** Of the prompt, how many tokens are image tokens (makes the advice precise). */
  readonly imageTokens?: number;
}

/**
 * Throws `SarashinaError('context-overflow')` when `promptTokens + maxNewTokens > contextTokens`, saying by
 * how many tokens and what to do; `invalid-request` when maxNewTokens is not a positive integer.
 */
export function checkContextBudget(budget: ContextBudget): void {
  const { promptTokens, maxNewTokens, contextTokens } = budget;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new SarashinaError('invalid-request', `max_tokens is ${maxNewTokens}: pass a positive integer.`, {
      field: 'max_tokens',
      actual: maxNewTokens,
    });
  }
  const needed = promptTokens + maxNewTokens;
  if (needed <= contextTokens) return;
  const over = needed - contextTokens;
  const imageTokens = budget.imageTokens ?? 0;
  const imageHint = imageTokens > 0 ? ` (${imageTokens} of them image tokens: send fewer or smaller images)` : '';
  const room = contextTokens - promptTokens;
  const maxTokensHint =
    room > 0 ? `lower max_tokens to at most ${room}` : 'lowering max_tokens alone is not enough';
  throw new SarashinaError(
    'context-overflow',
    `the prompt has ${promptTokens} tokens${imageHint} and max_tokens is ${maxNewTokens}: together ${needed}, ` +
      `${over} over the context of ${contextTokens} tokens. Shorten the prompt or history, ${maxTokensHint}.`,
    { promptTokens, maxNewTokens, contextTokens, overBy: over, imageTokens },
  );
}
