/**
 * The input area of <sarashina-chat>: a text box (Enter sends, Shift+Enter adds a line, Enter while an
 * IME is composing does not send, Escape stops an answer), images by paste, drop or file picker with thumbnails and remove buttons,
 * and the send / stop / retry / clear buttons.
 */
import type { UiStrings } from './ui-strings';

export interface ComposerActions {
  send(text: string, images: readonly Blob[]): void;
  stop(): void;
  retry(): void;
  clear(): void;
}

export class Composer {
  readonly element: HTMLFormElement;
  private readonly textarea: HTMLTextAreaElement;
  private readonly fileInput: HTMLInputElement;
  private readonly thumbs: HTMLDivElement;
  private readonly attachButton: HTMLButtonElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly retryButton: HTMLButtonElement;
  private readonly clearButton: HTMLButtonElement;
  private readonly inputLabel: HTMLLabelElement;
  private images: { blob: Blob; url: string }[] = [];
  private strings: UiStrings;
  private busy = false;
  private hasHistory = false;

  constructor(doc: Document, strings: UiStrings, private readonly actions: ComposerActions) {
    this.strings = strings;
    const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string): HTMLElementTagNameMap[K] => {
      const e = doc.createElement(tag);
      if (className) e.className = className;
      return e;
    };
    this.element = el('form', 'composer');
    this.thumbs = el('div', 'thumbs');
    this.inputLabel = el('label', 'visually-hidden');
    this.inputLabel.htmlFor = 'sarashina-input';
    this.textarea = el('textarea');
    this.textarea.id = 'sarashina-input';
    this.textarea.rows = 2;
    this.fileInput = el('input');
    this.fileInput.type = 'file';
    this.fileInput.accept = 'image/*';
    this.fileInput.multiple = true;
    this.fileInput.hidden = true;
    this.fileInput.tabIndex = -1;
    this.attachButton = el('button', 'attach');
    this.attachButton.type = 'button';
    this.sendButton = el('button', 'primary send');
    this.sendButton.type = 'submit';
    this.stopButton = el('button', 'stop');
    this.stopButton.type = 'button';
    this.retryButton = el('button', 'retry');
    this.retryButton.type = 'button';
    this.clearButton = el('button', 'clear');
    this.clearButton.type = 'button';
    const row = el('div', 'row');
    row.append(this.attachButton, el('span', 'spacer'), this.clearButton, this.retryButton, this.stopButton, this.sendButton);
    this.element.append(this.thumbs, this.inputLabel, this.textarea, this.fileInput, row);

    this.element.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.textarea.addEventListener('keydown', (e) => {
      // keyCode 229: some browsers report the IME's Enter this way without isComposing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      } else if (e.key === 'Escape' && this.busy && !e.isComposing) {
        e.preventDefault();
        actions.stop();
      }
    });
    this.textarea.addEventListener('input', () => this.refresh());
    this.attachButton.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.addImages([...(this.fileInput.files ?? [])]);
      this.fileInput.value = '';
    });
    this.stopButton.addEventListener('click', () => actions.stop());
    this.retryButton.addEventListener('click', () => actions.retry());
    this.clearButton.addEventListener('click', () => actions.clear());
    this.element.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])].filter(isImage);
      if (files.length > 0) {
        e.preventDefault();
        this.addImages(files);
      }
    });
    this.acceptDropsOn(this.element);
    this.setStrings(strings);
  }

  /** Images dropped anywhere on `target` (e.g. the whole chat) are attached; it is outlined while dragging. */
  acceptDropsOn(target: HTMLElement): void {
    target.addEventListener('dragover', (e) => {
      if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
      e.preventDefault();
      target.classList.add('dragging');
    });
    target.addEventListener('dragleave', (e) => {
      if (!(e.relatedTarget instanceof Node) || !target.contains(e.relatedTarget)) target.classList.remove('dragging');
    });
    target.addEventListener('drop', (e) => {
      target.classList.remove('dragging');
      const files = [...(e.dataTransfer?.files ?? [])].filter(isImage);
      if (files.length === 0) return;
      e.preventDefault();
      // A drop on the form inside the target is handled once, there.
      e.stopPropagation();
      this.addImages(files);
    });
  }

  /** Attaches images to the next message (non-images are ignored). */
  addImages(files: readonly Blob[]): void {
    for (const blob of files.filter(isImage)) this.images.push({ blob, url: URL.createObjectURL(blob) });
    this.renderThumbs();
    this.refresh();
  }

  setStrings(strings: UiStrings): void {
    this.strings = strings;
    this.textarea.placeholder = strings.inputPlaceholder;
    this.inputLabel.textContent = strings.inputLabel;
    this.attachButton.textContent = `+ ${strings.attach}`;
    this.attachButton.setAttribute('aria-label', strings.attach);
    this.sendButton.textContent = strings.send;
    this.stopButton.textContent = strings.stop;
    this.retryButton.textContent = strings.retry;
    this.clearButton.textContent = strings.clear;
    this.renderThumbs();
  }

  /** While busy the stop button replaces send, and retry/clear wait. */
  setState(state: { busy: boolean; hasHistory: boolean }): void {
    this.busy = state.busy;
    this.hasHistory = state.hasHistory;
    this.refresh();
  }

  focus(): void {
    this.textarea.focus();
  }

  /**
   * Puts a message that was not sent (its request failed) back: its text before whatever was typed since, its
   * images before those attached since.
   */
  restore(text: string, images: readonly Blob[]): void {
    const typed = this.textarea.value;
    this.textarea.value = typed.trim() === '' ? text : text.trim() === '' ? typed : `${text}\n${typed}`;
    this.images = [...images.map((blob) => ({ blob, url: URL.createObjectURL(blob) })), ...this.images];
    this.renderThumbs();
    this.refresh();
  }

  /** Empties the composer and returns what was in it (to carry an unsent message into a new composer). */
  takeDraft(): { text: string; images: Blob[] } {
    const draft = { text: this.textarea.value, images: this.images.map((i) => i.blob) };
    for (const image of this.images) URL.revokeObjectURL(image.url);
    this.images = [];
    this.textarea.value = '';
    this.renderThumbs();
    this.refresh();
    return draft;
  }

  dispose(): void {
    for (const image of this.images) URL.revokeObjectURL(image.url);
    this.images = [];
  }

  private submit(): void {
    const text = this.textarea.value;
    if (this.busy || (text.trim() === '' && this.images.length === 0)) return;
    const images = this.images.map((i) => i.blob);
    // The thumbnails' URLs go: the message list makes its own for the sent images.
    for (const image of this.images) URL.revokeObjectURL(image.url);
    this.images = [];
    this.textarea.value = '';
    this.renderThumbs();
    this.actions.send(text, images);
  }

  private refresh(): void {
    // Send and stop swap places: keep the keyboard focus in the composer instead of losing it to the page.
    const root = this.element.getRootNode() as Document | ShadowRoot;
    const focused = root.activeElement;
    const empty = this.textarea.value.trim() === '' && this.images.length === 0;
    this.sendButton.hidden = this.busy;
    this.sendButton.disabled = empty;
    this.stopButton.hidden = !this.busy;
    this.retryButton.disabled = this.busy || !this.hasHistory;
    this.clearButton.disabled = !this.hasHistory;
    if ((focused === this.sendButton && this.sendButton.hidden) || (focused === this.stopButton && this.stopButton.hidden)) this.textarea.focus();
  }

  private renderThumbs(): void {
    const doc = this.element.ownerDocument;
    this.thumbs.replaceChildren(
      ...this.images.map((image, index) => {
        const box = doc.createElement('div');
        box.className = 'thumb';
        const img = doc.createElement('img');
        img.src = image.url;
        img.alt = `${this.strings.imageAlt} ${index + 1}`;
        const remove = doc.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.setAttribute('aria-label', `${this.strings.removeImage} ${index + 1}`);
        remove.addEventListener('click', () => {
          URL.revokeObjectURL(image.url);
          this.images = this.images.filter((i) => i !== image);
          this.renderThumbs();
          this.refresh();
          this.textarea.focus();
        });
        box.append(img, remove);
        return box;
      }),
    );
  }
}

function isImage(file: Blob): boolean {
  return file.type.startsWith('image/');
}
