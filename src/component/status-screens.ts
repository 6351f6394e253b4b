/**
 * The screens shown instead of the chat: the download screen (progress bar with bytes, percent, rate and
 * time left, and a cancel button), and notices — the capability screen (what is missing and what the user
 * can do, chosen by the error code), load errors, a cancelled download, a missing model attribute.
 */
import type { LoadProgress } from '../protocol/api';
import type { ErrorCode } from '../protocol/errors';
import { formatBytes, formatDuration, formatTransfer, progressPercent } from './format-progress';
import { type UiStrings, uiLang } from './ui-strings';

export interface ProgressScreen {
  readonly element: HTMLElement;
  update(progress: LoadProgress): void;
}

/** The download screen; `onCancel` runs when the cancel button is pressed. */
export function progressScreen(doc: Document, strings: UiStrings, lang: string, onCancel: () => void): ProgressScreen {
  const element = doc.createElement('section');
  element.className = 'screen center download';
  const title = doc.createElement('h2');
  title.textContent = strings.downloading;
  const bar = doc.createElement('div');
  bar.className = 'progress';
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', '0');
  bar.setAttribute('aria-label', strings.downloading);
  const fill = doc.createElement('div');
  bar.append(fill);
  const percent = doc.createElement('div');
  percent.className = 'percent';
  percent.textContent = '0%';
  const bytes = doc.createElement('div');
  bytes.className = 'muted bytes';
  const eta = doc.createElement('div');
  eta.className = 'muted eta';
  eta.textContent = strings.unknownEta;
  const cancel = doc.createElement('button');
  cancel.type = 'button';
  cancel.className = 'cancel';
  cancel.textContent = strings.cancel;
  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    onCancel();
  });
  element.append(title, bar, percent, bytes, eta, cancel);
  const l = uiLang(lang);
  return {
    element,
    update(p) {
      const pct = progressPercent(p);
      title.textContent = p.phase === 'download' || p.phase === 'convert' ? strings.downloading : strings.preparing;
      fill.style.width = `${pct}%`;
      bar.setAttribute('aria-valuenow', String(pct));
      percent.textContent = `${strings.phase[p.phase]} ${pct}%`;
      bytes.textContent = `${formatTransfer(p)} · ${strings.filesLabel} ${p.filesDone}/${p.filesTotal}${p.downloadedBytes === undefined ? '' : ` · ${formatBytes(p.downloadedBytes)} ${strings.downloadedLabel}`}`;
      eta.textContent = p.etaSeconds === null ? strings.unknownEta : l === 'ja' ? `${strings.etaLabel} ${formatDuration(p.etaSeconds, l)}` : `${formatDuration(p.etaSeconds, l)} ${strings.etaLabel}`;
    },
  };
}

export interface NoticeOptions {
  readonly kind: 'capability' | 'error' | 'info';
  readonly title: string;
  readonly text: string;
  readonly todo?: readonly string[];
  /** The engine's own message (English, with values), folded away under "details". */
  readonly details?: string;
  readonly action?: { readonly label: string; readonly run: () => void };
}

/** A notice screen: title, explanation, what to do, details, one action button. */
export function noticeScreen(doc: Document, strings: UiStrings, options: NoticeOptions): HTMLElement {
  const element = doc.createElement('section');
  element.className = `screen center ${options.kind}`;
  element.setAttribute('role', options.kind === 'info' ? 'status' : 'alert');
  const box = doc.createElement('div');
  box.className = 'notice-box';
  const title = doc.createElement('h2');
  title.textContent = options.title;
  const text = doc.createElement('p');
  text.textContent = options.text;
  box.append(title, text);
  if (options.todo && options.todo.length > 0) {
    const list = doc.createElement('ul');
    for (const item of options.todo) {
      const li = doc.createElement('li');
      li.textContent = item;
      list.append(li);
    }
    box.append(list);
  }
  if (options.details) {
    const details = doc.createElement('details');
    const summary = doc.createElement('summary');
    summary.textContent = strings.details;
    const body = doc.createElement('p');
    body.textContent = options.details;
    details.append(summary, body);
    box.append(details);
  }
  element.append(box);
  if (options.action) {
    const { run, label } = options.action;
    const button = doc.createElement('button');
    button.type = 'button';
    button.className = 'primary';
    button.textContent = label;
    button.addEventListener('click', run);
    element.append(button);
  }
  return element;
}

/** The notice for a failed load (or a lost device): the capability screen for codes that mean "this device/browser cannot". */
export function errorNotice(strings: UiStrings, code: ErrorCode, message: string, retry: () => void): NoticeOptions {
  const help = strings.capability[code];
  if (help) return { kind: 'capability', title: strings.capabilityTitle, text: help.what, todo: help.todo, details: `${code}: ${message}`, action: { label: strings.tryAgain, run: retry } };
  return { kind: 'error', title: strings.loadErrorTitle, text: message, details: code, action: { label: strings.tryAgain, run: retry } };
}
