/**
 * The demo page: `<sarashina-chat>` on the built-in default model, a settings panel that reconfigures it
 * (load settings recreate the engine), the timings of each answer, diagnostics on demand, and the service
 * worker of the production build (offline app shell; the model itself comes from the loader's OPFS cache).
 */
import './demo.css';
import type { SarashinaChatElement } from '../src/component/index';
import type { EngineInfo, LoadProgress } from '../src/protocol/api';
import { showAnswerMetrics } from './answer-metrics';
import { applySettings, DEFAULT_MODEL_URL, DEFAULT_SETTINGS, loadSettings, readSettingsForm, saveSettings, writeSettingsForm } from './demo-settings';
import { mountSamplePanel } from './sample-panel';

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`demo/index.html lacks #${id}`);
  return el;
}

// Typed as the component: the element is upgraded in place once the component module defines it below.
const chat = byId('chat', HTMLElement) as SarashinaChatElement;
const status = byId('engine-status', HTMLElement);
const metrics = byId('metrics', HTMLElement);
const form = byId('settings', HTMLFormElement);
const diagnostics = byId('diagnostics-panel', HTMLDetailsElement);
// Samples and suggested questions only for the built-in model (a real model answers anything; these would mislead).
const samples = mountSamplePanel(chat, byId('samples', HTMLElement), byId('sample-list', HTMLElement));

function describeEngine(info: EngineInfo): string {
  return `準備完了 (ready): ${info.precision} · context ${info.contextTokens} tokens · ${info.adapter || 'WebGPU'}`;
}

function describeProgress(p: LoadProgress): string {
  const percent = p.totalBytes > 0 ? Math.floor((100 * p.loadedBytes) / p.totalBytes) : 0;
  const phase = { download: 'ダウンロード中 (downloading)', convert: '変換中 (converting)', upload: 'GPU へ転送中 (uploading)', compile: '準備中 (compiling)' }[p.phase];
  return `${phase} ${percent}%`;
}

function wireEvents(): void {
  chat.addEventListener('progress', (e) => {
    status.className = 'muted';
    status.textContent = describeProgress(e.detail);
  });
  chat.addEventListener('ready', (e) => {
    samples.setVisible(chat.model === DEFAULT_MODEL_URL);
    status.className = 'ok';
    status.textContent = describeEngine(e.detail);
    status.title = e.detail.precisionReason;
  });
  chat.addEventListener('error', (e) => {
    const d = e.detail;
    if (d.code === 'aborted') return;
    status.className = 'bad';
    status.textContent = `${d.code}: ${d.message}`;
  });
  chat.addEventListener('message', (e) => showAnswerMetrics(metrics, e.detail));
}

function wireSettings(): void {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const s = readSettingsForm(form);
    saveSettings(s);
    status.className = 'muted';
    status.textContent = 'エンジンを作り直しています… (recreating the engine…)';
    samples.setVisible(false);
    applySettings(chat, s);
  });
  form.addEventListener('reset', (e) => {
    e.preventDefault();
    writeSettingsForm(form, DEFAULT_SETTINGS);
    saveSettings(DEFAULT_SETTINGS);
    applySettings(chat, DEFAULT_SETTINGS);
  });
}

function wireDiagnostics(): void {
  let started = false;
  diagnostics.addEventListener('toggle', () => {
    if (!diagnostics.open || started) return;
    started = true;
    // Loaded on demand: the check makes its own GPU device and onnxruntime session.
    void import('./diagnostics').then(({ runDiagnostics }) =>
      runDiagnostics({ status: byId('status', HTMLElement), caps: byId('caps', HTMLTableElement), interop: byId('interop', HTMLElement) }),
    );
  });
  if (location.hash === '#diagnostics') diagnostics.open = true;
}

async function registerServiceWorker(): Promise<void> {
  // Production build only: in `npm start` (Vite dev server) a service worker would serve stale modules.
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL });
  } catch (e) {
    console.warn(`service worker not registered (${String(e)}): the demo works, but not offline`);
  }
}

async function main(): Promise<void> {
  const settings = loadSettings();
  writeSettingsForm(form, settings);
  // Attributes first, element definition second: the component loads its engine once, with these settings.
  applySettings(chat, settings);
  wireEvents();
  wireSettings();
  wireDiagnostics();
  await import('../src/component/index');
  await registerServiceWorker();
}

void main();
