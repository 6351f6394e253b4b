/**
 * Entry module for pages: `<script type="module" src=".../src/component/index.ts">` defines
 * `<sarashina-chat>`. Importing it has that one side effect; `defineSarashinaChat` is exported for pages
 * that want another tag name.
 */
import { SarashinaChatElement } from './sarashina-chat-element';

export { SarashinaChatElement } from './sarashina-chat-element';
export type { ChatErrorDetail, ChatMessageDetail, ChatTokenDetail, SarashinaChatEventMap } from './chat-events';
export { renderMarkdown } from './render-markdown';

/**
 * Registers the element under `tagName` (default `sarashina-chat`). Safe to call twice: an already defined
 * name is left as it is. Returns the element class registered under that name.
 */
export function defineSarashinaChat(tagName = 'sarashina-chat'): CustomElementConstructor {
  const existing = customElements.get(tagName);
  if (existing) return existing;
  // A subclass per extra name: one constructor cannot be registered under two names.
  const ctor = tagName === 'sarashina-chat' ? SarashinaChatElement : class extends SarashinaChatElement {};
  customElements.define(tagName, ctor);
  return ctor;
}

defineSarashinaChat();

declare global {
  interface HTMLElementTagNameMap {
    'sarashina-chat': SarashinaChatElement;
  }
}
