/**
 * The chat history the component keeps and sends whole on every turn (the engine reuses the common prefix,
 * so resending costs only the new tokens). Pure data: no DOM, no engine.
 *
 * A turn whose request fails is taken back out of the history (`takeBack`): it would fail the same way in every
 * later request that resends it (an undecodable image, a message too long alone for the context), so its text and
 * images return to the composer instead. Sarashina's chat template renders no system turn, so there is no system
 * prompt here: the engine would leave it out (and say so in the completion's `warnings`).
 */
import type { ChatMessage, ContentPart, ContextTruncation, FinishReason } from '../protocol/api';

export interface UserTurn {
  readonly role: 'user';
  readonly text: string;
  /** Images in the order the user attached them; sent before the text, as the model card does. */
  readonly images: readonly Blob[];
}

export interface AssistantTurn {
  readonly role: 'assistant';
  text: string;
  /** null while streaming. */
  finishReason: FinishReason | null;
  /** What the engine left out or shrunk to fit this answer's request into the context (null: nothing). */
  truncation: ContextTruncation | null;
}

export type Turn = UserTurn | AssistantTurn;

/** A user turn taken back out of the history: what returns to the composer. */
export interface TakenBackTurn {
  readonly text: string;
  readonly images: readonly Blob[];
}

export class Conversation {
  private readonly list: Turn[] = [];

  get turns(): readonly Turn[] {
    return this.list;
  }

  /** Adds a user turn. Throws if both text and images are empty (nothing to send). */
  addUser(text: string, images: readonly Blob[]): UserTurn {
    if (text.trim() === '' && images.length === 0) throw new Error('Conversation.addUser: a turn needs text or an image');
    const turn: UserTurn = { role: 'user', text, images: [...images] };
    this.list.push(turn);
    return turn;
  }

  /** Starts an (empty, streaming) assistant turn after the last user turn. */
  startAssistant(): AssistantTurn {
    const turn: AssistantTurn = { role: 'assistant', text: '', finishReason: null, truncation: null };
    this.list.push(turn);
    return turn;
  }

  /** For "retry last": removes the answers after the last user turn; false if there is no user turn. */
  rewindToLastUser(): boolean {
    const last = this.list.map((t) => t.role).lastIndexOf('user');
    if (last === -1) return false;
    this.list.length = last + 1;
    return true;
  }

  /**
   * Takes `turn` and every turn after it (its answer) out of the history, after its request failed, and returns its
   * text and images for the composer. `badImageIndex` is an image index of the failed request (the engine's error
   * details name it, counting the images of every user turn in order, as `toMessages` sends them); when it falls in
   * `turn`, that image is left out, since sending it again would fail again. null when `turn` is not in the history
   * (the conversation was cleared meanwhile).
   */
  takeBack(turn: UserTurn, options: { readonly badImageIndex?: number } = {}): TakenBackTurn | null {
    const at = this.list.indexOf(turn);
    if (at === -1) return null;
    const firstImage = this.list.slice(0, at).reduce((n, t) => n + (t.role === 'user' ? t.images.length : 0), 0);
    const bad = options.badImageIndex === undefined ? -1 : options.badImageIndex - firstImage;
    this.list.length = at;
    return { text: turn.text, images: turn.images.filter((_, i) => i !== bad) };
  }

  /** The last user turn (the one a request answers), or null. */
  lastUser(): UserTurn | null {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const turn = this.list[i];
      if (turn?.role === 'user') return turn;
    }
    return null;
  }

  clear(): void {
    this.list.length = 0;
  }

  /** Replaces the whole history with `turns` (a conversation restored from storage). */
  replace(turns: readonly Turn[]): void {
    this.list.length = 0;
    this.list.push(...turns);
  }

  /** The request messages: every turn in order; empty answers are left out. */
  toMessages(): ChatMessage[] {
    const messages: ChatMessage[] = [];
    for (const turn of this.list) {
      if (turn.role === 'assistant') {
        if (turn.text !== '') messages.push({ role: 'assistant', content: turn.text });
        continue;
      }
      const parts: ContentPart[] = turn.images.map((image): ContentPart => ({ type: 'image_url', image_url: { url: image } }));
      if (turn.text !== '') parts.push({ type: 'text', text: turn.text });
      messages.push({ role: 'user', content: parts });
    }
    return messages;
  }
}
