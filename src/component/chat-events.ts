/** The CustomEvents `<sarashina-chat>` dispatches (bubbling, composed), with their typed details. */
import type { EngineInfo, FinishReason, LoadProgress, Timings, Usage } from '../protocol/api';
import type { ErrorCode } from '../protocol/errors';

export interface ChatTokenDetail {
  /** The text added by this chunk (may be several tokens, or part of a character held back until complete). */
  readonly delta: string;
}

export interface ChatMessageDetail {
  readonly message: { readonly role: 'assistant'; readonly content: string };
  readonly finishReason: FinishReason;
  readonly usage: Usage | null;
  readonly timings: Timings | null;
}

/** A failed load or request; also `aborted` when the user cancels the download. */
export interface ChatErrorDetail {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface SarashinaChatEventMap {
  ready: CustomEvent<EngineInfo>;
  progress: CustomEvent<LoadProgress>;
  token: CustomEvent<ChatTokenDetail>;
  message: CustomEvent<ChatMessageDetail>;
  error: CustomEvent<ChatErrorDetail>;
}
