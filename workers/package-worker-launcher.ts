/**
 * Starts the engine's Worker from the published package (scripts/build-lib.ts puts this module in place of
 * worker-launcher.ts). The package's files lie side by side: engine-worker.js (the whole engine, onnxruntime-web
 * included, one file) and onnxruntime-web's wasm; both are found from this module's own URL.
 *
 * - Served as is (a CDN, a static folder), the URLs point at the package, wherever it is. A Worker cannot be
 *   started from another origin's URL, so when the package is on another origin than the page a same-origin
 *   blob: module imports the worker by its absolute URL (the package's server must send CORS headers, as CDNs do).
 * - Bundled by an app (Vite, webpack 5), the `new URL('./…', import.meta.url)` literals make the bundler copy
 *   both files into the app's output and rewrite the URLs to their hashed names; the wasm's URL is then handed
 *   to the worker, since it no longer lies next to it.
 *
 * The `@vite-ignore` markers keep this project's own build from resolving the literals (engine-worker.js is
 * built, not a source file); the build removes them from its output so that an app's bundler sees them.
 */
import type { LaunchedWorker } from './worker-launcher';

export type { LaunchedWorker } from './worker-launcher';

export function launchEngineWorker(): LaunchedWorker {
  const workerUrl = new URL(/* @vite-ignore */ './engine-worker.js', import.meta.url);
  const ortWasmUrl = new URL(/* @vite-ignore */ './ort-wasm-simd-threaded.asyncify.wasm', import.meta.url).href;
  const options: WorkerOptions = { type: 'module', name: 'sarashina-engine' };
  if (workerUrl.origin === self.location.origin) return { worker: new Worker(workerUrl, options), ortWasmUrl };
  // The blob stays registered (a few bytes per engine): revoked at once, the worker's own fetch of it could fail.
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(workerUrl.href)};\n`], { type: 'text/javascript' }));
  return { worker: new Worker(shim, options), ortWasmUrl };
}
