/**
 * `<sarashina-chat>`: a chat with Sarashina2-Vision in any page. It loads the model package at `model` into
 * an engine in a Worker (through the worker client only), shows download progress, a capability screen when
 * the browser or GPU cannot run it, then the chat (images + text, streamed answers, stop, retry, clear).
 * Attributes: model, system-prompt, max-tokens, temperature, max-pixels, lang (ja | en), precision,
 * context-tokens, theme (light | dark; default follows the system). Events: see chat-events.ts.
 */
import { createWorkerEngine } from '../../workers/engine-client';
import type { ChatCompletionRequest, EngineInfo, FinishReason, PrecisionVariant, Timings, Usage } from '../protocol/api';
import { isSarashinaError } from '../protocol/errors';
import type { ChatErrorDetail, ChatMessageDetail, SarashinaChatEventMap } from './chat-events';
import { CHAT_STYLES } from './chat-styles';
import { Composer } from './composer';
import { Conversation } from './conversation';
import { MessageList } from './message-list';
import { errorNotice, noticeScreen, progressScreen } from './status-screens';
import { type UiStrings, uiStrings } from './ui-strings';

type WorkerEngine = Awaited<ReturnType<typeof createWorkerEngine>>;

/** Attributes that change how the engine is loaded: changing one reloads it. */
const LOAD_ATTRIBUTES = ['model', 'precision', 'context-tokens', 'max-pixels'] as const;

export class SarashinaChatElement extends HTMLElement {
  static readonly observedAttributes = [...LOAD_ATTRIBUTES, 'lang', 'system-prompt', 'max-tokens', 'temperature', 'theme'];

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

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
  }

  get model(): string | null { return this.getAttribute('model'); }
  set model(v: string | null) { this.setOrRemove('model', v); }
  get systemPrompt(): string | null { return this.getAttribute('system-prompt'); }
  set systemPrompt(v: string | null) { this.setOrRemove('system-prompt', v); }
  get maxTokens(): number | undefined { return this.numberAttribute('max-tokens'); }
  set maxTokens(v: number | undefined) { this.setOrRemove('max-tokens', v); }
  get temperature(): number | undefined { return this.numberAttribute('temperature'); }
  set temperature(v: number | undefined) { this.setOrRemove('temperature', v); }
  get maxPixels(): number | undefined { return this.numberAttribute('max-pixels'); }
  set maxPixels(v: number | undefined) { this.setOrRemove('max-pixels', v); }
  get contextTokens(): number | undefined { return this.numberAttribute('context-tokens'); }
  set contextTokens(v: number | undefined) { this.setOrRemove('context-tokens', v); }
  get precision(): PrecisionVariant | undefined { return (this.getAttribute('precision') as PrecisionVariant | null) ?? undefined; }
  set precision(v: PrecisionVariant | undefined) { this.setOrRemove('precision', v); }
  /** What the loaded engine reports (null until `ready`). */
  get engineInfo(): EngineInfo | null { return this.engine?.info ?? null; }
  /** True while an answer is being generated. */
  get busy(): boolean { return this.generation !== null; }

  connectedCallback(): void {
    this.renderChrome();
    if (!this.started) {
      this.started = true;
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
      });
      if (seq !== this.loadSeq) {
        await engine.dispose();
        return;
      }
      this.engine = engine;
      this.loadController = null;
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

  /** Forgets the conversation (stops an answer in progress). */
  clear(): void {
    this.generation?.abort();
    this.conversation.clear();
    this.list?.clear();
    this.syncComposer();
    this.composer?.focus();
  }

  override addEventListener<K extends keyof SarashinaChatEventMap>(type: K, listener: (this: SarashinaChatElement, ev: SarashinaChatEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  private async generate(): Promise<void> {
    const engine = this.engine;
    if (!engine || !this.list) return;
    const messages = this.conversation.toMessages(this.systemPrompt);
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
      view.finish(finishReason, answer.truncation);
      const detail: ChatMessageDetail = { message: { role: 'assistant', content: answer.text }, finishReason, usage, timings };
      this.emit('message', detail);
    } catch (e) {
      const detail = errorDetail(e);
      if (detail.code === 'aborted') {
        // Stopped before the first chunk: an empty stopped answer.
        answer.finishReason = 'abort';
        view.finish('abort');
        this.emit('message', { message: { role: 'assistant', content: answer.text }, finishReason: 'abort', usage: null, timings: null });
      } else {
        this.conversation.dropIfLast(answer);
        view.remove();
        this.list.appendError(detail.code, detail.message);
        this.emit('error', detail);
        if (detail.code === 'device-lost') this.fail(detail, () => void this.load());
      }
    } finally {
      if (this.generation === controller) this.generation = null;
      this.syncComposer();
    }
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
