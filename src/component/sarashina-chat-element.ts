/**
 * `<sarashina-chat>`: a chat with Sarashina2-Vision in any page. It loads the model package at `model` into
 * an engine in a Worker (through the worker client only), shows download progress, a capability screen when
 * the browser or GPU cannot run it, then the chat (images + text, streamed answers, stop, retry, clear).
 * Attributes: model, max-tokens, temperature, max-pixels, lang (ja | en), precision, context-tokens, memory-budget,
 * theme (light | dark; default follows the system), persist-key and persist-max-bytes (saved conversations:
 * conversation-store.ts). Events: see chat-events.ts. No system prompt: Sarashina's chat template renders no system
 * turn, so one would never reach the model.
 *
 * A request that fails takes its user turn back out of the conversation and puts its text and images in the composer
 * (less an image the engine could not decode), so the next message is not refused for the same reason; an answer the
 * user stops keeps the text streamed so far as an assistant turn (it is what the user saw), and one stopped before any
 * text takes its question back like a failure.
 */
import { createWorkerEngine } from '../../workers/engine-client';
import type { ChatCompletionRequest, EngineInfo, FinishReason, PrecisionVariant, Timings, Usage } from '../protocol/api';
import { isSarashinaError } from '../protocol/errors';
import type { ChatErrorDetail, ChatMessageDetail, SarashinaChatEventMap } from './chat-events';
import { CHAT_STYLES } from './chat-styles';
import { Composer } from './composer';
import { Conversation, type UserTurn } from './conversation';
import { ConversationPersistence } from './conversation-persistence';
import { DEFAULT_PERSIST_MAX_BYTES } from './conversation-store';
import { MessageList } from './message-list';
import { errorNotice, noticeScreen, progressScreen } from './status-screens';
import { type UiStrings, uiStrings } from './ui-strings';

type WorkerEngine = Awaited<ReturnType<typeof createWorkerEngine>>;

/** Attributes that change how the engine is loaded: changing one reloads it. */
const LOAD_ATTRIBUTES = ['model', 'precision', 'context-tokens', 'max-pixels', 'memory-budget'] as const;

export class SarashinaChatElement extends HTMLElement {
  static readonly observedAttributes = [...LOAD_ATTRIBUTES, 'lang', 'max-tokens', 'temperature', 'theme', 'persist-key'];

  private readonly root: ShadowRoot;
  private readonly conversation = new Conversation();
  private engine: WorkerEngine | null = null;
  private loadController: AbortController | null = null;
  private generation: AbortController | null = null;
  private loadSeq = 0;
  private reloadQueued = false;
  /** Set by the first connectedCallback (which loads); attribute changes after it reload. */
  private started = false;
  private composer: Composer | null = null;
  private list: MessageList | null = null;
  private screen: 'idle' | 'loading' | 'notice' | 'chat' = 'idle';
  private renderNotice: (() => HTMLElement) | null = null;
  private readonly persistence = new ConversationPersistence((detail) => {
    // Shown in the chat too (the chat works on without saving); before the chat is shown only the event tells.
    this.list?.appendError(detail.code, detail.message);
    this.emit('error', detail);
  });
  /** The restore in progress (the chat is shown once it is done). */
  private restoring: Promise<void> = Promise.resolve();

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
  }

  get model(): string | null { return this.getAttribute('model'); }
  set model(v: string | null) { this.setOrRemove('model', v); }
  get maxTokens(): number | undefined { return this.numberAttribute('max-tokens'); }
  set maxTokens(v: number | undefined) { this.setOrRemove('max-tokens', v); }
  get temperature(): number | undefined { return this.numberAttribute('temperature'); }
  set temperature(v: number | undefined) { this.setOrRemove('temperature', v); }
  get maxPixels(): number | undefined { return this.numberAttribute('max-pixels'); }
  set maxPixels(v: number | undefined) { this.setOrRemove('max-pixels', v); }
  get contextTokens(): number | undefined { return this.numberAttribute('context-tokens'); }
  set contextTokens(v: number | undefined) { this.setOrRemove('context-tokens', v); }
  /** GPU memory in bytes the engine may plan for (createEngine's memoryBudgetBytes). Reloads. */
  get memoryBudget(): number | undefined { return this.numberAttribute('memory-budget'); }
  set memoryBudget(v: number | undefined) { this.setOrRemove('memory-budget', v); }
  get precision(): PrecisionVariant | undefined { return (this.getAttribute('precision') as PrecisionVariant | null) ?? undefined; }
  set precision(v: PrecisionVariant | undefined) { this.setOrRemove('precision', v); }
  /** Key under which the conversation is saved in IndexedDB and restored on load; null: not saved. */
  get persistKey(): string | null { return this.getAttribute('persist-key'); }
  set persistKey(v: string | null) { this.setOrRemove('persist-key', v); }
  /** Cap of the saved conversation in bytes (text as UTF-8 + pictures); the oldest exchanges are left out past it. */
  get persistMaxBytes(): number { const v = this.numberAttribute('persist-max-bytes'); return v !== undefined && v >= 0 ? v : DEFAULT_PERSIST_MAX_BYTES; }
  set persistMaxBytes(v: number | undefined) { this.setOrRemove('persist-max-bytes', v); }
  /** What the loaded engine reports (null until `ready`). */
  get engineInfo(): EngineInfo | null { return this.engine?.info ?? null; }
  /** True while an answer is being generated. */
  get busy(): boolean { return this.generation !== null; }
  /** Messages in the conversation (user and assistant turns; 0 for a new chat). */
  get messageCount(): number { return this.conversation.turns.length; }

  connectedCallback(): void {
    this.renderChrome();
    if (!this.started) {
      this.started = true;
      this.restoring = this.restoreConversation();
      void this.load();
    }
  }

  disconnectedCallback(): void {
    // Moving the element (disconnect + connect in one task) keeps the engine and the conversation.
    queueMicrotask(() => {
      if (!this.isConnected) this.teardown();
    });
  }

  private teardown(): void {
    this.started = false;
    this.loadController?.abort();
    this.loadController = null;
    this.generation?.abort();
    this.loadSeq++;
    void this.engine?.dispose();
    this.engine = null;
    this.composer?.dispose();
    this.list?.clear();
  }

  attributeChangedCallback(name: string, oldValue: string | null, newValue: string | null): void {
    // Before the first connectedCallback (also while a parsed element is upgraded) the load there reads them all.
    if (oldValue === newValue || !this.started) return;
    if (name === 'lang') this.renderChrome();
    if (name === 'persist-key') this.restoring = this.restoreConversation();
    if ((LOAD_ATTRIBUTES as readonly string[]).includes(name) && !this.reloadQueued) {
      // Several attributes set in one task reload once.
      this.reloadQueued = true;
      queueMicrotask(() => {
        this.reloadQueued = false;
        void this.load();
      });
    }
  }

  /** (Re)loads the engine for the current attributes. Resolves when it is ready or has failed (see `error`). */
  async load(): Promise<void> {
    const seq = ++this.loadSeq;
    this.loadController?.abort();
    this.generation?.abort();
    const old = this.engine;
    this.engine = null;
    await old?.dispose();
    const model = this.model;
    const strings = this.strings();
    if (!model) {
      this.showNotice(() => noticeScreen(document, this.strings(), { kind: 'info', title: this.strings().title, text: this.strings().noModel }));
      return;
    }
    if (!(await hasWebGpuAdapter())) {
      // Checked here first: the engine would download the whole package before it looks for a GPU.
      if (seq !== this.loadSeq) return;
      const message = 'WebGPU is not available in this browser (navigator.gpu is undefined or has no adapter).';
      this.fail({ code: 'webgpu-unavailable', message }, () => void this.load());
      return;
    }
    if (seq !== this.loadSeq) return;
    const controller = new AbortController();
    this.loadController = controller;
    const screen = progressScreen(document, strings, this.lang, () => controller.abort());
    this.setScreen('loading', screen.element);
    try {
      const engine = await createWorkerEngine({
        model,
        signal: controller.signal,
        onProgress: (p) => {
          if (seq !== this.loadSeq) return;
          screen.update(p);
          this.emit('progress', p);
        },
        ...optional('precision', this.precision),
        ...optional('contextTokens', this.contextTokens),
        ...optional('maxPixels', this.maxPixels),
        ...optional('memoryBudgetBytes', this.memoryBudget),
      });
      if (seq !== this.loadSeq) {
        await engine.dispose();
        return;
      }
      this.engine = engine;
      this.loadController = null;
      await this.restoring;
      if (seq !== this.loadSeq) return;
      this.showChat();
      this.emit('ready', engine.info);
    } catch (e) {
      if (seq !== this.loadSeq) return;
      this.loadController = null;
      const detail = errorDetail(e);
      if (detail.code === 'aborted') {
        const s = this.strings();
        this.showNotice(() => noticeScreen(document, this.strings(), { kind: 'info', title: s.title, text: s.cancelled, action: { label: s.load, run: () => void this.load() } }));
        this.emit('error', detail);
        return;
      }
      this.fail(detail, () => void this.load());
    }
  }

  /** Sends a user turn (text and/or images) and streams the answer. Ignored while loading or answering. */
  async send(text: string, images: readonly Blob[] = []): Promise<void> {
    if (!this.engine || this.generation || (text.trim() === '' && images.length === 0)) return;
    const turn = this.conversation.addUser(text, images);
    this.list?.appendUser(turn);
    await this.generate();
  }

  /**
   * Puts a draft in the composer without sending it (a page's sample pictures and questions): `text`, when given,
   * replaces what is typed; `images`, when given, replace the attached pictures. Ignored until the chat shows.
   */
  compose(draft: { readonly text?: string; readonly images?: readonly Blob[] }): void {
    if (!this.composer) return;
    const current = this.composer.takeDraft();
    this.composer.restore(draft.text ?? current.text, draft.images ?? current.images);
    this.composer.focus();
  }

  /** Stops the answer being generated (it keeps the text so far). */
  stop(): void {
    this.generation?.abort();
  }

  /** Generates the last answer again (from the last user turn). */
  async retry(): Promise<void> {
    if (!this.engine || this.generation || !this.conversation.rewindToLastUser()) return;
    this.list?.renderAll(this.conversation.turns);
    await this.generate();
  }

  /** Forgets the conversation (stops an answer in progress), the saved one too when `persist-key` is set. */
  clear(): void {
    this.generation?.abort();
    this.conversation.clear();
    this.list?.clear();
    this.syncComposer();
    this.composer?.focus();
    this.saveConversation();
  }

  override addEventListener<K extends keyof SarashinaChatEventMap>(type: K, listener: (this: SarashinaChatElement, ev: SarashinaChatEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  private async generate(): Promise<void> {
    const engine = this.engine;
    if (!engine || !this.list) return;
    const question = this.conversation.lastUser();
    if (!question) return;
    const messages = this.conversation.toMessages();
    const answer = this.conversation.startAssistant();
    const view = this.list.appendAssistant();
    const controller = new AbortController();
    this.generation = controller;
    this.syncComposer();
    let finishReason: FinishReason = 'stop';
    let usage: Usage | null = null;
    let timings: Timings | null = null;
    try {
      const request: ChatCompletionRequest & { stream: true } = {
        messages,
        stream: true,
        signal: controller.signal,
        ...optional('max_tokens', this.maxTokens),
        ...optional('temperature', this.temperature),
        ...optional('max_pixels', this.maxPixels),
      };
      const stream = await engine.chat.completions.create(request);
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        const delta = choice.delta.content ?? '';
        if (delta !== '') {
          answer.text += delta;
          view.update(answer.text);
          this.emit('token', { delta });
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
        usage = chunk.usage ?? usage;
        timings = chunk.timings ?? timings;
      }
      answer.finishReason = finishReason;
      answer.truncation = usage?.truncation ?? null;
      if (finishReason === 'abort' && answer.text === '') this.takeBack(question);
      else view.finish(finishReason, answer.truncation);
      const detail: ChatMessageDetail = { message: { role: 'assistant', content: answer.text }, finishReason, usage, timings };
      this.emit('message', detail);
    } catch (e) {
      const detail = errorDetail(e);
      if (detail.code === 'aborted') {
        // Stopped before the first chunk: nothing was answered, the question goes back to the composer.
        this.takeBack(question);
        this.emit('message', { message: { role: 'assistant', content: '' }, finishReason: 'abort', usage: null, timings: null });
      } else {
        const unreadable = badImageIndex(e);
        const returned = this.takeBack(question, unreadable === undefined ? {} : { badImageIndex: unreadable });
        this.list.appendError(detail.code, detail.message, { returned: returned !== null, unreadableImages: returned?.unreadableImages ?? 0 });
        this.emit('error', detail);
        if (detail.code === 'device-lost') this.fail(detail, () => void this.load());
      }
    } finally {
      if (this.generation === controller) this.generation = null;
      this.syncComposer();
      this.saveConversation();
    }
  }

  /**
   * Replaces the conversation with the one saved under `persist-key` (once per key: a reload of the engine keeps
   * the conversation in memory). Without the attribute nothing is read or written.
   */
  private async restoreConversation(): Promise<void> {
    const turns = await this.persistence.restore(this.persistKey, () => this.persistKey);
    if (!turns) return;
    this.generation?.abort();
    this.conversation.replace(turns);
    this.list?.renderAll(this.conversation.turns);
    this.syncComposer();
  }

  private saveConversation(): void {
    this.persistence.save(this.persistKey, this.conversation.turns, this.persistMaxBytes);
  }

  /**
   * Takes a failed (or unanswered) request's user turn and its answer out of the conversation and the message list,
   * and puts its text and images back in the composer. null when the turn is gone already (the chat was cleared).
   */
  private takeBack(question: UserTurn, options: { readonly badImageIndex?: number } = {}): { readonly unreadableImages: number } | null {
    const returned = this.conversation.takeBack(question, options);
    if (!returned) return null;
    this.list?.renderAll(this.conversation.turns);
    this.composer?.restore(returned.text, returned.images);
    return { unreadableImages: question.images.length - returned.images.length };
  }

  private fail(detail: ChatErrorDetail, retry: () => void): void {
    this.showNotice(() => noticeScreen(document, this.strings(), errorNotice(this.strings(), detail.code, detail.message, retry)));
    this.emit('error', detail);
  }

  private showNotice(render: () => HTMLElement): void {
    this.renderNotice = render;
    this.setScreen('notice', render());
  }

  private showChat(): void {
    const strings = this.strings();
    // A reload (an attribute change, or after a lost device) keeps what the user was writing.
    const draft = this.composer?.takeDraft();
    this.composer?.dispose();
    this.list = new MessageList(document, strings);
    this.composer = new Composer(document, strings, {
      send: (text, images) => void this.send(text, images),
      stop: () => this.stop(),
      retry: () => void this.retry(),
      clear: () => this.clear(),
    });
    const screen = document.createElement('section');
    screen.className = 'screen chat';
    screen.append(this.list.element, this.composer.element);
    this.composer.acceptDropsOn(screen);
    this.list.renderAll(this.conversation.turns);
    if (draft) this.composer.restore(draft.text, draft.images);
    this.setScreen('chat', screen);
    this.syncComposer();
  }

  /** Draws the current screen again in the current language (the style element stays). */
  private renderChrome(): void {
    if (this.root.firstChild === null) {
      const style = document.createElement('style');
      style.textContent = CHAT_STYLES;
      this.root.append(style);
    }
    if (this.screen === 'chat' && this.list && this.composer) {
      const strings = this.strings();
      this.list.setStrings(strings);
      this.composer.setStrings(strings);
    } else if (this.screen === 'notice' && this.renderNotice) {
      this.setScreen('notice', this.renderNotice());
    }
  }

  private setScreen(kind: SarashinaChatElement['screen'], element: HTMLElement): void {
    this.screen = kind;
    this.root.querySelector('.screen')?.remove();
    this.root.append(element);
  }

  private syncComposer(): void {
    this.composer?.setState({ busy: this.generation !== null, hasHistory: this.conversation.turns.length > 0 });
  }

  private strings(): UiStrings {
    return uiStrings(this.lang);
  }

  private emit<K extends keyof SarashinaChatEventMap>(type: K, detail: SarashinaChatEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private numberAttribute(name: string): number | undefined {
    const v = this.getAttribute(name);
    // Passed on as parsed (NaN included): the engine rejects bad values with a message naming the field.
    return v === null || v.trim() === '' ? undefined : Number(v);
  }

  private setOrRemove(name: string, value: string | number | null | undefined): void {
    if (value === null || value === undefined) this.removeAttribute(name);
    else this.setAttribute(name, String(value));
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * The request image an error is about, when the engine refused that image's bytes (`invalid-request` with an image
 * index in its details: an undecodable file, a failed fetch). Other image errors (too large for the device) are
 * about sizes, not bytes, and their index may count within one encode, so they name no image here.
 */
function badImageIndex(e: unknown): number | undefined {
  if (!isSarashinaError(e) || e.code !== 'invalid-request') return undefined;
  const index = e.details['index'];
  return typeof index === 'number' && Number.isInteger(index) ? index : undefined;
}

function errorDetail(e: unknown): ChatErrorDetail {
  if (isSarashinaError(e)) return { code: e.code, message: e.message };
  if (e instanceof DOMException && e.name === 'AbortError') return { code: 'aborted', message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/** Whether this page can get a WebGPU adapter at all (no device is requested here). */
async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = typeof navigator === 'undefined' ? undefined : (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}
