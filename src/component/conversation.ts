/**
 * The chat history the component keeps and sends whole on every turn (the engine reuses the common prefix,
 * so resending costs only the new tokens). Pure data: no DOM, no engine.
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

  /** Drops `turn` if it is the last one (a failed or empty answer is not kept in the history). */
  dropIfLast(turn: Turn): void {
    if (this.list[this.list.length - 1] === turn) this.list.pop();
  }

  /** For "retry last": removes the answers after the last user turn; false if there is no user turn. */
  rewindToLastUser(): boolean {
    const last = this.list.map((t) => t.role).lastIndexOf('user');
    if (last === -1) return false;
    this.list.length = last + 1;
    return true;
  }

  clear(): void {
    this.list.length = 0;
  }

  /** The request messages: the system prompt (if any, non-blank), then every turn; empty answers are left out. */
  toMessages(systemPrompt: string | null): ChatMessage[] {
    const messages: ChatMessage[] = [];
    if (systemPrompt && systemPrompt.trim() !== '') messages.push({ role: 'system', content: systemPrompt });
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
