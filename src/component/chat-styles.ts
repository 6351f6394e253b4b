/**
 * The component's shadow-DOM stylesheet. Theming through CSS custom properties set on the host
 * (--sarashina-bg, --sarashina-fg, --sarashina-accent, …); light and dark follow prefers-color-scheme
 * unless the `theme` attribute says light or dark.
 */
const LIGHT = `
  --sc-bg: var(--sarashina-bg, #ffffff);
  --sc-fg: var(--sarashina-fg, #1b1d21);
  --sc-muted: var(--sarashina-muted, #5d6470);
  --sc-border: var(--sarashina-border, #d5d9e0);
  --sc-surface: var(--sarashina-surface, #f3f5f8);
  --sc-user-bg: var(--sarashina-user-bg, #e3ecff);
  --sc-accent: var(--sarashina-accent, #2f5bd3);
  --sc-accent-fg: var(--sarashina-accent-fg, #ffffff);
  --sc-danger: var(--sarashina-danger, #b3261e);
  --sc-code-bg: var(--sarashina-code-bg, #eceff4);
`;

const DARK = `
  --sc-bg: var(--sarashina-bg, #16181c);
  --sc-fg: var(--sarashina-fg, #e7e9ee);
  --sc-muted: var(--sarashina-muted, #a0a7b4);
  --sc-border: var(--sarashina-border, #343944);
  --sc-surface: var(--sarashina-surface, #1f2228);
  --sc-user-bg: var(--sarashina-user-bg, #263456);
  --sc-accent: var(--sarashina-accent, #8fb0ff);
  --sc-accent-fg: var(--sarashina-accent-fg, #0e1420);
  --sc-danger: var(--sarashina-danger, #ffb4ab);
  --sc-code-bg: var(--sarashina-code-bg, #262a32);
`;

export const CHAT_STYLES = `
:host { display: block; ${LIGHT} color-scheme: light; font: var(--sarashina-font, 15px/1.6 system-ui, "Hiragino Sans", "Noto Sans JP", sans-serif);
  color: var(--sc-fg); background: var(--sc-bg); border: 1px solid var(--sc-border); border-radius: var(--sarashina-radius, 12px);
  height: var(--sarashina-height, 600px); overflow: hidden; box-sizing: border-box; }
@media (prefers-color-scheme: dark) { :host(:not([theme="light"])) { ${DARK} color-scheme: dark; } }
:host([theme="dark"]) { ${DARK} color-scheme: dark; }
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; cursor: pointer; border-radius: 8px; border: 1px solid var(--sc-border); background: var(--sc-surface);
  color: var(--sc-fg); padding: 6px 14px; min-height: 36px; }
button.primary { background: var(--sc-accent); color: var(--sc-accent-fg); border-color: var(--sc-accent); }
button:disabled { opacity: 0.45; cursor: default; }
button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 2px solid var(--sc-accent); outline-offset: 2px; }
.screen { height: 100%; display: flex; flex-direction: column; }
.center { justify-content: center; align-items: center; padding: 24px; text-align: center; gap: 12px; }
.center h2 { margin: 0; font-size: 1.15em; }
.progress { width: min(420px, 90%); height: 10px; border-radius: 5px; background: var(--sc-surface); border: 1px solid var(--sc-border); overflow: hidden; }
.progress > div { height: 100%; width: 0; background: var(--sc-accent); transition: width 0.2s; }
.muted { color: var(--sc-muted); font-size: 0.9em; }
.notice-box { max-width: 520px; text-align: start; }
.notice-box ul { padding-inline-start: 1.2em; }
.notice-box details { color: var(--sc-muted); font-size: 0.85em; word-break: break-word; }
.log { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 12px; }
.log > .empty { margin: auto; text-align: center; max-width: 24em; }
.log > .empty:not(:only-child) { display: none; }
.msg { max-width: 88%; padding: 8px 12px; border-radius: 12px; overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; background: var(--sc-user-bg); white-space: pre-wrap; }
.msg.assistant { align-self: flex-start; background: var(--sc-surface); }
.msg.error { align-self: stretch; max-width: none; color: var(--sc-danger); border: 1px solid var(--sc-danger); background: transparent; }
.msg .who { display: block; font-size: 0.75em; color: var(--sc-muted); margin-bottom: 2px; }
.msg .note, .msg .context-note { display: block; font-size: 0.8em; color: var(--sc-muted); }
.msg .hint:not(:empty) { display: block; margin-bottom: 4px; }
.msg .detail { display: block; font-size: 0.85em; }
.msg .returned { display: block; margin-top: 4px; font-size: 0.85em; color: var(--sc-muted); }
.msg p { margin: 0 0 0.5em; } .msg p:last-child { margin-bottom: 0; }
.msg ul, .msg ol { margin: 0.3em 0; padding-inline-start: 1.4em; }
.msg pre { background: var(--sc-code-bg); padding: 8px; border-radius: 6px; overflow-x: auto; margin: 0.4em 0; }
.msg code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.9em; }
.msg :not(pre) > code { background: var(--sc-code-bg); padding: 0 4px; border-radius: 4px; }
.msg a { color: var(--sc-accent); }
.msg .images { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 6px; margin-bottom: 4px; }
.msg .images img { max-width: 160px; max-height: 120px; border-radius: 6px; display: block; }
.composer { border-top: 1px solid var(--sc-border); padding: 10px; display: flex; flex-direction: column; gap: 8px; position: relative; }
.dragging { outline: 2px dashed var(--sc-accent); outline-offset: -4px; }
.thumbs { display: flex; gap: 8px; flex-wrap: wrap; }
.thumb { position: relative; }
.thumb img { width: 64px; height: 64px; object-fit: cover; border-radius: 6px; border: 1px solid var(--sc-border); display: block; }
.thumb button { position: absolute; top: -8px; right: -8px; min-height: 0; width: 24px; height: 24px; padding: 0; border-radius: 50%; line-height: 1; }
textarea { font: inherit; color: var(--sc-fg); background: var(--sc-bg); border: 1px solid var(--sc-border); border-radius: 8px;
  padding: 8px; resize: vertical; min-height: 44px; max-height: 40vh; width: 100%; }
.row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.row .spacer { flex: 1; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
