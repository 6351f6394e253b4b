/**
 * Starts the engine's Worker, as the repository's own pages (demo, tests) run it: Vite bundles
 * engine-worker.ts from this `new Worker(new URL(…))` and onnxruntime-web finds its wasm next to its own module.
 * The package build (scripts/build-lib.ts) replaces this module by package-worker-launcher.ts, which starts the
 * prebuilt worker next to the package's files, from any origin.
 */

/** A started engine worker and, where onnxruntime-web's wasm is not next to the worker, the wasm file's URL. */
export interface LaunchedWorker {
  readonly worker: Worker;
  readonly ortWasmUrl?: string;
}

export function launchEngineWorker(): LaunchedWorker {
  return { worker: new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'sarashina-engine' }) };
}
