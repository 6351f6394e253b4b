/** e2e page: createEngine (through the Worker client) on an original checkpoint, driven from e2e/checkpoint.test.ts. */
import { browserPlatform } from '../../src/api/browser-platform';
import { packagePlanner } from '../../src/api/create-engine';
import type { InspectableEngine } from '../../src/api/engine';
import { GpuContext } from '../../src/gpu/gpu-context';
import { deleteCachedModel, listCachedModels } from '../../src/api/model-cache';
import { OpfsStore } from '../../src/loader/opfs-store';
import { Sha256 } from '../../src/loader/sha256';
import { readAll } from '../../src/loader/package-source';
import type { EngineOptions, LoadProgress } from '../../src/protocol/api';
import { SarashinaError } from '../../src/protocol/errors';
import { MANIFEST_FILE_NAME, packageFiles, parseManifest } from '../../src/protocol/manifest';
import { createWorkerEngine } from '../../workers/engine-client';

export interface CheckpointLoadResult {
  readonly info?: { readonly modelId: string; readonly precision: string; readonly precisionReason: string };
  readonly phases: string[];
  readonly lastConvert?: LoadProgress;
  readonly error?: { readonly isSarashinaError: boolean; readonly code: string; readonly message: string };
  readonly seconds: number;
}

export interface CheckpointConvertResult {
  readonly opened?: { readonly modelId: string; readonly precision: string; readonly precisionReason: string | undefined };
  readonly phases: string[];
  readonly lastConvert?: LoadProgress;
  readonly error?: { readonly isSarashinaError: boolean; readonly code: string; readonly message: string };
}

declare global {
  interface Window {
    /** What createEngine does before it loads the model (the browser platform with the engine's chooser), on this page. */
    ckptConvert: (options: Omit<EngineOptions, 'onProgress' | 'signal'>) => Promise<CheckpointConvertResult>;
    ckptLoad: (options: Omit<EngineOptions, 'onProgress' | 'signal'>) => Promise<CheckpointLoadResult>;
    ckptAsk: (pngDataUrl: string, question: string) => Promise<string>;
    ckptDispose: () => Promise<void>;
    /** sha256 of every file of the stored package `modelId` (manifest.json included), read back from OPFS. */
    ckptStoredDigests: (modelId: string) => Promise<Record<string, string>>;
    ckptCached: () => Promise<string[]>;
    ckptDelete: (model: string) => Promise<string[]>;
  }
}

let engine: InspectableEngine | null = null;

function errorOut(e: unknown): NonNullable<CheckpointLoadResult['error']> {
  return e instanceof SarashinaError ? { isSarashinaError: true, code: e.code, message: e.message } : { isSarashinaError: false, code: 'not a SarashinaError', message: String(e) };
}

window.ckptConvert = async (options) => {
  const phases = new Set<string>();
  let lastConvert: LoadProgress | undefined;
  try {
    const adapter = await GpuContext.requestAdapter({});
    const planner = packagePlanner(adapter.capabilities, options);
    const onProgress = (p: LoadProgress): void => {
      phases.add(p.phase);
      if (p.phase === 'convert') lastConvert = p;
    };
    const { manifest, source } = await browserPlatform().openSource({ ...options, onProgress }, planner.chooser);
    return { opened: { modelId: source.id, precision: manifest.precision, precisionReason: planner.plan()?.precisionReason }, phases: [...phases], ...(lastConvert ? { lastConvert } : {}) };
  } catch (e) {
    return { phases: [...phases], ...(lastConvert ? { lastConvert } : {}), error: errorOut(e) };
  }
};

window.ckptLoad = async (options) => {
  const phases = new Set<string>();
  let lastConvert: LoadProgress | undefined;
  const started = performance.now();
  try {
    engine = await createWorkerEngine({
      ...options,
      onProgress: (p) => {
        phases.add(p.phase);
        if (p.phase === 'convert') lastConvert = p;
      },
    });
    const { modelId, precision, precisionReason } = engine.info;
    return { info: { modelId, precision, precisionReason }, phases: [...phases], ...(lastConvert ? { lastConvert } : {}), seconds: (performance.now() - started) / 1000 };
  } catch (e) {
    return { phases: [...phases], ...(lastConvert ? { lastConvert } : {}), error: errorOut(e), seconds: (performance.now() - started) / 1000 };
  }
};

window.ckptAsk = async (pngDataUrl, question) => {
  if (!engine) throw new Error('ckptLoad first');
  const done = await engine.chat.completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: pngDataUrl } }, { type: 'text', text: question }] }],
    max_tokens: 40,
  });
  return done.choices[0].message.content;
};

window.ckptDispose = async () => {
  await engine?.dispose();
  engine = null;
};

window.ckptStoredDigests = async (modelId) => {
  const store = new OpfsStore();
  const manifestBytes = await readAll(await store.read(modelId, MANIFEST_FILE_NAME));
  const out: Record<string, string> = { [MANIFEST_FILE_NAME]: new Sha256().update(manifestBytes).digestHex() };
  for (const f of packageFiles(parseManifest(JSON.parse(new TextDecoder().decode(manifestBytes))))) {
    const reader = (await store.read(modelId, f.path)).getReader();
    const hash = new Sha256();
    for (let r = await reader.read(); !r.done; r = await reader.read()) hash.update(r.value);
    out[f.path] = hash.digestHex();
  }
  return out;
};

window.ckptCached = async () => (await listCachedModels()).map((m) => m.modelId);

window.ckptDelete = async (model) => {
  await deleteCachedModel(model);
  return (await listCachedModels()).map((m) => m.modelId);
};
