/** e2e page: createEngine (through the Worker client) on an original checkpoint, driven from e2e/checkpoint.test.ts. */
import { browserPlatform } from '../../src/api/browser-platform';
import { packagePlanner } from '../../src/api/create-engine';
import type { InspectableEngine } from '../../src/api/engine';
import { GpuContext } from '../../src/gpu/gpu-context';
import { deleteCachedModel, listCachedModels } from '../../src/api/model-cache';
import { StoreSink } from '../../src/convert/store-sink';
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
    /**
     * A StoreSink file in OPFS written in three parts: `a`, a checkpoint, `b`, then abandoned (closed unfinished, as
     * an interrupted conversion leaves it); resumed at the checkpoint and `c` written. What checkpoint returned, what
     * finish reported and the SHA-256 (WebCrypto) and size of the bytes OPFS holds afterwards.
     */
    ckptOpfsResume: (parts: { a: number; b: number; c: number }) => Promise<{ state: unknown; finished: { sizeBytes: number; sha256: string }; storedBytes: number; storedSha256: string }>;
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

window.ckptOpfsResume = async ({ a, b, c }) => {
  const fill = (n: number, k: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * k + 5) & 0xff);
  const store = new OpfsStore();
  await store.deleteModel('resume-probe');
  const sink = new StoreSink(store, 'resume-probe');
  const first = await sink.createFile('x.bin');
  await first.write(fill(a, 31));
  const state = await first.checkpoint();
  await first.write(fill(b, 7));
  await first.abort();
  if (!state) return { state, finished: { sizeBytes: 0, sha256: '' }, storedBytes: 0, storedSha256: '' };
  const again = await sink.resumeFile('x.bin', state);
  if (!again) throw new Error('resumeFile returned null');
  await again.write(fill(c, 17));
  const finished = await again.finish();
  const bytes = await readAll(await store.read('resume-probe', 'x.bin'));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  await store.deleteModel('resume-probe');
  return { state, finished, storedBytes: bytes.byteLength, storedSha256: Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('') };
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
