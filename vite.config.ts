import { fileURLToPath } from 'node:url';
import { defineConfig, type PluginOption } from 'vite';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));

// vite-plugin-pwa is loaded by a computed name so that TypeScript does not pull its type graph (workbox-build,
// rollup 2, type-fest) into the project's program: those declarations change the DOM types the e2e tests
// rely on (Playwright's evaluate arguments stop type-checking). Its options are plain data checked at build.
const pwaPluginName = 'vite-plugin-pwa';
const { VitePWA } = (await import(pwaPluginName)) as { VitePWA: (options: Record<string, unknown>) => PluginOption };

// The demo is the app root; it imports the engine from ../src. onnxruntime-web is excluded from
// dependency pre-bundling so its wasm files resolve next to its own module URL. The worker's other
// dependencies are listed because Vite's scan does not follow `new Worker(new URL(…))`: found late, they
// would trigger a re-optimization and a full page reload in the middle of a session.
//
// PWA (production build only): a Workbox service worker precaches the app shell, the worker bundle and
// onnxruntime-web's .wasm/.mjs files, so a reload without network still starts. The model package under
// /models/ is deliberately neither precached nor intercepted: the engine's loader keeps it in OPFS.
export default defineConfig({
  root: 'demo',
  server: { host: 'localhost', port: 5173, fs: { allow: [repoRoot] } },
  preview: { host: 'localhost', port: 4173 },
  optimizeDeps: { exclude: ['onnxruntime-web'], include: ['comlink', '@huggingface/tokenizers', '@huggingface/jinja'] },
  worker: { format: 'es' },
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
  plugins: [
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: null,
      includeAssets: ['icons/*.png'],
      manifest: {
        name: 'Sarashina2-Vision WebGPU',
        short_name: 'Sarashina',
        description: '画像について日本語で話せる AI を、あなたの GPU でブラウザの中だけで動かします。 An image chat that runs on your own GPU in the browser.',
        lang: 'ja',
        start_url: '.',
        scope: '.',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#3b5bdb',
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{html,js,mjs,css,wasm,png,svg,webmanifest}'],
        globIgnores: ['models/**'],
        // onnxruntime-web's wasm is ~25 MB; it must be precached for offline starts.
        maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/\/models\//],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
});
