/**
 * The demo's settings: what the form edits, what is kept in localStorage across visits, and how they map
 * onto `<sarashina-chat>` attributes. Model, precision, context budget and pixel budget are load attributes
 * (the component recreates its engine when one changes); temperature and max tokens apply to the next answer.
 */
import type { PrecisionVariant } from '../src/protocol/api';

/** The package `npm start` serves (exported by scripts/ensure-default-model.ts into demo/public/models/default/). */
export const DEFAULT_MODEL_URL = '/models/default/';

export interface DemoSettings {
  readonly model: string;
  /** null = let the engine choose for the adapter. */
  readonly precision: PrecisionVariant | null;
  /** KV-cache capacity in tokens; null = the engine's choice (the model's context capped by GPU memory). */
  readonly contextTokens: number | null;
  /** Pixels per image; null = the model's own budget. */
  readonly maxPixels: number | null;
  /** null = the engine's default (greedy). */
  readonly temperature: number | null;
  readonly maxTokens: number | null;
  readonly lang: 'ja' | 'en';
}

export const DEFAULT_SETTINGS: DemoSettings = {
  model: DEFAULT_MODEL_URL,
  precision: null,
  // The engine's default: the model's maximum context within the memory budget (engine.info says which).
  contextTokens: null,
  maxPixels: null,
  temperature: null,
  maxTokens: 128,
  lang: 'ja',
};

const STORAGE_KEY = 'sarashina-demo-settings';
const PRECISIONS: readonly PrecisionVariant[] = ['fp32', 'q4f32', 'q4f16'];

/** Settings saved by an earlier visit, each field checked (anything unreadable falls back to the default). */
export function loadSettings(storage: Storage | null = safeStorage()): DemoSettings {
  let saved: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '{}');
    if (parsed && typeof parsed === 'object') saved = parsed as Record<string, unknown>;
  } catch {
    // A damaged entry: start from the defaults.
  }
  const num = (v: unknown, fallback: number | null): number | null => (v === null || (typeof v === 'number' && Number.isFinite(v)) ? v : fallback);
  return {
    model: typeof saved.model === 'string' && saved.model.trim() !== '' ? saved.model : DEFAULT_SETTINGS.model,
    precision: PRECISIONS.includes(saved.precision as PrecisionVariant) ? (saved.precision as PrecisionVariant) : saved.precision === null ? null : DEFAULT_SETTINGS.precision,
    contextTokens: num(saved.contextTokens, DEFAULT_SETTINGS.contextTokens),
    maxPixels: num(saved.maxPixels, DEFAULT_SETTINGS.maxPixels),
    temperature: num(saved.temperature, DEFAULT_SETTINGS.temperature),
    maxTokens: num(saved.maxTokens, DEFAULT_SETTINGS.maxTokens),
    lang: saved.lang === 'en' ? 'en' : 'ja',
  };
}

export function saveSettings(settings: DemoSettings, storage: Storage | null = safeStorage()): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(settings));
  } catch {
    // Storage full or blocked: the settings still apply to this visit.
  }
}

/** Writes the settings onto the element: an unset value removes its attribute, so the engine default applies. */
export function applySettings(chat: HTMLElement, s: DemoSettings): void {
  const set = (name: string, value: string | number | null): void => {
    if (value === null) chat.removeAttribute(name);
    else chat.setAttribute(name, String(value));
  };
  set('model', s.model);
  set('precision', s.precision);
  set('context-tokens', s.contextTokens);
  set('max-pixels', s.maxPixels);
  set('temperature', s.temperature);
  set('max-tokens', s.maxTokens);
  set('lang', s.lang);
}

/** Reads the settings form (field names = DemoSettings keys); empty number fields mean "default". */
export function readSettingsForm(form: HTMLFormElement): DemoSettings {
  const data = new FormData(form);
  const text = (name: keyof DemoSettings): string => String(data.get(name) ?? '').trim();
  const num = (name: keyof DemoSettings): number | null => (text(name) === '' ? null : Number(text(name)));
  const precision = text('precision');
  return {
    model: text('model') || DEFAULT_MODEL_URL,
    precision: PRECISIONS.includes(precision as PrecisionVariant) ? (precision as PrecisionVariant) : null,
    contextTokens: num('contextTokens'),
    maxPixels: num('maxPixels'),
    temperature: num('temperature'),
    maxTokens: num('maxTokens'),
    lang: text('lang') === 'en' ? 'en' : 'ja',
  };
}

/** Fills the form from settings. */
export function writeSettingsForm(form: HTMLFormElement, s: DemoSettings): void {
  for (const [name, value] of Object.entries(s) as [keyof DemoSettings, DemoSettings[keyof DemoSettings]][]) {
    const field = form.elements.namedItem(name);
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) field.value = value === null ? '' : String(value);
  }
}

function safeStorage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
