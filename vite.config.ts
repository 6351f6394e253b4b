import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));

// The demo is the app root; it imports the engine from ../src. onnxruntime-web is excluded from
// dependency pre-bundling so its wasm files resolve next to its own module URL. The worker's other
// dependencies are listed because Vite's scan does not follow `new Worker(new URL(…))`: found late, they
// would trigger a re-optimization and a full page reload in the middle of a session.
export default defineConfig({
  root: 'demo',
  server: { host: 'localhost', port: 5173, fs: { allow: [repoRoot] } },
  preview: { host: 'localhost', port: 4173 },
  optimizeDeps: { exclude: ['onnxruntime-web'], include: ['comlink', '@huggingface/tokenizers', '@huggingface/jinja'] },
  worker: { format: 'es' },
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
});
