/**
 * The conversation as the user sees it: user turns (text + image thumbnails), assistant turns rendered by
 * the safe Markdown renderer (re-rendered as tokens stream in), and error lines. A polite live region, with
 * aria-busy on the answer being written so screen readers read it once complete rather than per token.
 */
import type { ContextTruncation, FinishReason } from '../protocol/api';
import type { ErrorCode } from '../protocol/errors';
import type { Turn, UserTurn } from './conversation';
import { renderMarkdown } from './render-markdown';
import type { UiStrings } from './ui-strings';

export interface AssistantView {
  /** Shows `text` (the whole answer so far). */
  update(text: string): void;
  /**
   * Marks the answer complete; a note says when it was stopped or cut by the token limit, another when its request
   * was fitted to the context (older messages left out, images shrunk).
   */
  finish(reason: FinishReason, truncation?: ContextTruncation | null): void;
  remove(): void;
}

export class MessageList {
  readonly element: HTMLDivElement;
  private readonly urls = new Map<Blob, string>();
  /** The hint shown while there are no messages (CSS hides it once it has siblings). */
  private readonly empty: HTMLParagraphElement;

  constructor(
    private readonly doc: Document,
    private strings: UiStrings,
  ) {
    this.element = doc.createElement('div');
    this.element.className = 'log';
    this.element.setAttribute('role', 'log');
    this.element.setAttribute('aria-live', 'polite');
    // Focusable so keyboard users can scroll a long conversation.
    this.element.tabIndex = 0;
    this.empty = doc.createElement('p');
    this.empty.className = 'empty muted';
    this.element.append(this.empty);
    this.setStrings(strings);
  }

  /** Switches the labels of the list and of every shown message to `strings` (the messages stay). */
  setStrings(strings: UiStrings): void {
    const atBottom = this.isAtBottom();
    this.strings = strings;
    this.element.setAttribute('aria-label', strings.messagesLabel);
    this.empty.textContent = strings.emptyHint;
    for (const box of this.element.querySelectorAll<HTMLElement>('.msg')) {
      const who = box.querySelector('.who');
      if (who) who.textContent = this.whoLabel(box);
      const hint = box.querySelector('.hint');
      if (hint) hint.textContent = strings.requestError[box.dataset.code as ErrorCode] ?? '';
      const returned = box.querySelector('.returned');
      if (returned) returned.textContent = strings.messageReturned(Number(box.dataset.unreadableImages ?? 0));
      const note = box.querySelector('.note');
      if (note) note.textContent = this.noteFor(box.dataset.finishReason);
      const contextNote = box.querySelector('.context-note');
      if (contextNote) contextNote.textContent = this.contextNoteFor(box);
    }
    // Relabelled text wraps differently: stay at the end of the conversation if the user was there.
    if (atBottom) this.scroll();
  }

  appendUser(turn: UserTurn): void {
    const box = this.bubble('user');
    if (turn.images.length > 0) {
      const images = this.doc.createElement('div');
      images.className = 'images';
      turn.images.forEach((blob, i) => {
        const img = this.doc.createElement('img');
        img.src = this.urlFor(blob);
        img.alt = `${this.strings.imageAlt} ${i + 1}`;
        images.append(img);
      });
      box.append(images);
    }
    if (turn.text !== '') box.append(this.doc.createTextNode(turn.text));
    this.scroll();
  }

  appendAssistant(): AssistantView {
    const box = this.bubble('assistant');
    box.setAttribute('aria-busy', 'true');
    const body = this.doc.createElement('div');
    body.className = 'body';
    box.append(body);
    return {
      update: (text) => {
        const atBottom = this.isAtBottom();
        body.replaceChildren(renderMarkdown(text, this.doc));
        if (atBottom) this.scroll();
      },
      finish: (reason, truncation) => {
        box.removeAttribute('aria-busy');
        box.dataset.finishReason = reason;
        const note = this.noteFor(reason);
        if (note) {
          const span = this.doc.createElement('span');
          span.className = 'note';
          span.textContent = note;
          box.append(span);
        }
        if (truncation && (truncation.dropped_messages > 0 || truncation.resized_images.length > 0)) {
          // Kept as counts on the box, so a language switch can rewrite the note.
          box.dataset.droppedMessages = String(truncation.dropped_messages);
          box.dataset.resizedImages = String(truncation.resized_images.length);
          const span = this.doc.createElement('span');
          span.className = 'context-note';
          span.textContent = this.contextNoteFor(box);
          box.append(span);
        }
      },
      remove: () => box.remove(),
    };
  }

  /**
   * An error line: what the user can do (for known codes, in the UI language), then the engine's message; with
   * `returned`, a line saying the message was taken out of the conversation and is back in the input box (less
   * `unreadableImages` images).
   */
  appendError(code: ErrorCode, message: string, options: { readonly returned?: boolean; readonly unreadableImages?: number } = {}): void {
    const box = this.bubble('error', code);
    box.setAttribute('role', 'alert');
    const hint = this.doc.createElement('span');
    hint.className = 'hint';
    hint.textContent = this.strings.requestError[code] ?? '';
    const detail = this.doc.createElement('span');
    detail.className = 'detail';
    detail.textContent = message;
    box.append(hint, detail);
    if (options.returned === true) {
      const returned = this.doc.createElement('span');
      returned.className = 'returned';
      box.dataset.unreadableImages = String(options.unreadableImages ?? 0);
      returned.textContent = this.strings.messageReturned(options.unreadableImages ?? 0);
      box.append(returned);
    }
    this.scroll();
  }

  /** Shows the turns again from scratch (after a retry or a language change). */
  renderAll(turns: readonly Turn[]): void {
    this.element.replaceChildren(this.empty);
    for (const turn of turns) {
      if (turn.role === 'user') {
        this.appendUser(turn);
      } else {
        const view = this.appendAssistant();
        view.update(turn.text);
        if (turn.finishReason) view.finish(turn.finishReason, turn.truncation);
      }
    }
    this.releaseUnused(turns);
  }

  clear(): void {
    this.element.replaceChildren(this.empty);
    this.releaseUnused([]);
  }

  private bubble(kind: 'user' | 'assistant' | 'error', code?: string): HTMLDivElement {
    const box = this.doc.createElement('div');
    box.className = `msg ${kind}`;
    box.dataset.kind = kind;
    if (code !== undefined) box.dataset.code = code;
    const label = this.doc.createElement('span');
    label.className = 'who';
    label.textContent = this.whoLabel(box);
    box.append(label);
    this.element.append(box);
    return box;
  }

  private whoLabel(box: HTMLElement): string {
    const kind = box.dataset.kind;
    if (kind === 'user') return this.strings.you;
    if (kind === 'assistant') return this.strings.assistant;
    return `${this.strings.errorTitle} (${box.dataset.code ?? ''})`;
  }

  private noteFor(reason: string | undefined): string {
    return reason === 'abort' ? this.strings.stopped : reason === 'length' ? this.strings.truncated : '';
  }

  private contextNoteFor(box: HTMLElement): string {
    const dropped = Number(box.dataset.droppedMessages ?? 0);
    const resized = Number(box.dataset.resizedImages ?? 0);
    return [...(dropped > 0 ? [this.strings.contextDropped(dropped)] : []), ...(resized > 0 ? [this.strings.contextResized(resized)] : [])].join(' ');
  }

  private urlFor(blob: Blob): string {
    let url = this.urls.get(blob);
    if (url === undefined) {
      url = URL.createObjectURL(blob);
      this.urls.set(blob, url);
    }
    return url;
  }

  /** Revokes the object URLs of images no longer in `turns`. */
  private releaseUnused(turns: readonly Turn[]): void {
    const kept = new Set(turns.flatMap((t) => (t.role === 'user' ? t.images : [])));
    for (const [blob, url] of this.urls) {
      if (kept.has(blob)) continue;
      URL.revokeObjectURL(url);
      this.urls.delete(blob);
    }
  }

  private isAtBottom(): boolean {
    const e = this.element;
    return e.scrollHeight - e.scrollTop - e.clientHeight < 40;
  }

  private scroll(): void {
    this.element.scrollTop = this.element.scrollHeight;
  }
}
