/**
 * e2e page for <sarashina-chat>: mounts the element with attributes and records its events; also runs the
 * same request straight through createWorkerEngine (the reference the component's streamed text must equal)
 * and renders Markdown probes for the injection tests.
 */
import type { ChatErrorDetail, ChatMessageDetail, SarashinaChatElement } from '../../src/component/index';
import { CHAT_STYLES } from '../../src/component/chat-styles';
import { renderMarkdown } from '../../src/component/index';
import type { EngineInfo, LoadProgress } from '../../src/protocol/api';
import { createWorkerEngine } from '../../workers/engine-client';

interface Recorded {
  ready: EngineInfo | null;
  progress: LoadProgress[];
  tokens: string[];
  messages: ChatMessageDetail[];
  errors: ChatErrorDetail[];
}

declare global {
  interface Window {
    componentMount: (attributes: Record<string, string>) => void;
    componentEvents: () => Recorded;
    componentStopOnToken: (n: number) => void;
    referenceStream: (options: { model: string; contextTokens: number; imageUrls: string[]; text: string; maxTokens: number }) => Promise<string>;
    markdownProbe: (source: string) => { html: string; tags: string[]; text: string; links: { href: string; rel: string; target: string }[] };
    pwned: number;
  }
}

const recorded: Recorded = { ready: null, progress: [], tokens: [], messages: [], errors: [] };
let element: SarashinaChatElement | null = null;
window.pwned = 0;

window.componentMount = (attributes) => {
  element?.remove();
  const el = document.createElement('sarashina-chat');
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  el.addEventListener('ready', (e) => (recorded.ready = e.detail));
  el.addEventListener('progress', (e) => recorded.progress.push(e.detail));
  el.addEventListener('token', (e) => recorded.tokens.push(e.detail.delta));
  el.addEventListener('message', (e) => recorded.messages.push(e.detail));
  el.addEventListener('error', (e) => recorded.errors.push(e.detail));
  element = el;
  document.body.append(el);
};

window.componentEvents = () => JSON.parse(JSON.stringify(recorded)) as Recorded;

/** Presses the element's own stop button (as a user would) when the n-th token event arrives. */
window.componentStopOnToken = (n) => {
  let seen = 0;
  element?.addEventListener('token', () => {
    if (++seen !== n) return;
    const stop = element?.shadowRoot?.querySelector<HTMLButtonElement>('button.stop');
    stop?.click();
  });
};

window.referenceStream = async ({ model, contextTokens, imageUrls, text, maxTokens }) => {
  const engine = await createWorkerEngine({ model, contextTokens });
  try {
    const images = await Promise.all(imageUrls.map(async (url) => (await fetch(url)).blob()));
    const stream = await engine.chat.completions.create({
      messages: [{ role: 'user', content: [...images.map((url) => ({ type: 'image_url' as const, image_url: { url } })), { type: 'text', text }] }],
      max_tokens: maxTokens,
      stream: true,
    });
    let out = '';
    for await (const chunk of stream) out += chunk.choices[0].delta.content ?? '';
    return out;
  } finally {
    await engine.dispose();
  }
};

window.markdownProbe = (source) => {
  // Inside a shadow root with the component's stylesheet, in an answer bubble, as the chat shows it.
  const outer = document.createElement('div');
  outer.id = 'markdown-probe';
  const shadow = outer.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = `:host { display: block; max-width: 760px; }\n${CHAT_STYLES}`;
  const host = document.createElement('div');
  host.className = 'msg assistant';
  host.append(renderMarkdown(source));
  shadow.append(style, host);
  document.body.append(outer);
  const tags = [...host.querySelectorAll('*')].map((e) => e.tagName.toLowerCase());
  const links = [...host.querySelectorAll('a')].map((a) => ({ href: a.href, rel: a.rel, target: a.target }));
  const out = { html: host.innerHTML, tags, text: host.textContent ?? '', links };
  return out;
};
