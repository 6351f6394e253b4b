/**
 * `npm run build:lib` (and `prepack`): the published package, in dist/lib/, every file side by side:
 *
 *   index.js, chat.js (+ shared chunks)   ESM for apps and bundlers: the engine API and the element
 *                                          (`import 'sarashina-webgpu/chat'` defines <sarashina-chat>)
 *   sarashina-chat.js                      the element in one file, for one <script type="module"> from a CDN
 *   engine-worker.js                       the Worker: the whole engine with onnxruntime-web, one file
 *   ort-wasm-simd-threaded.asyncify.wasm   onnxruntime-web's WebGPU wasm
 *   types/                                 .d.ts (tsc)
 *   THIRD-PARTY-LICENSES.txt               the licences of the bundled packages
 *
 * The runtime dependencies are bundled, so the package has none: its worker and wasm are the versions it was
 * tested with, and a page that loads it from a CDN needs nothing else. The page-side modules find the worker and
 * the wasm from their own URL (workers/package-worker-launcher.ts replaces worker-launcher.ts here).
 * Three Vite builds: one entry cannot be split and another left whole in one build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type InlineConfig, type Plugin } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist/lib');
const PACKAGE_LAUNCHER = join(ROOT, 'workers/package-worker-launcher.ts');
const VITE_IGNORE = /\/\*\s*@vite-ignore\s*\*\/\s*/g;

/** Every node_modules package that ended up in a bundle (for the licence file). */
const bundledPackages = new Set<string>();

/** Puts the package's launcher in place of the repository's; removes its @vite-ignore markers from the output. */
function packageLauncher(): Plugin {
  return {
    name: 'sarashina:package-worker-launcher',
    enforce: 'pre',
    async resolveId(source, importer) {
      if (source === './worker-launcher' && importer && dirname(importer) === join(ROOT, 'workers')) return PACKAGE_LAUNCHER;
      return null;
    },
    renderChunk(code) {
      return VITE_IGNORE.test(code) ? { code: code.replace(VITE_IGNORE, ''), map: null } : null;
    },
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type !== 'chunk') continue;
        for (const id of file.moduleIds) {
          const match = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(id);
          if (match?.[1]) bundledPackages.add(match[1].split(sep).join('/'));
        }
      }
    },
  };
}

function config(entries: Record<string, string>, options: { whole: boolean; minify: boolean }): InlineConfig {
  return {
    configFile: false,
    root: ROOT,
    base: './',
    mode: 'production',
    publicDir: false,
    logLevel: 'warn',
    plugins: [packageLauncher()],
    build: {
      outDir: OUT,
      emptyOutDir: false,
      assetsDir: '',
      target: 'es2022',
      minify: options.minify,
      sourcemap: false,
      modulePreload: false,
      copyPublicDir: false,
      reportCompressedSize: false,
      rolldownOptions: {
        input: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, join(ROOT, file)])),
        preserveEntrySignatures: 'strict',
        output: {
          format: 'es',
          entryFileNames: '[name].js',
          // Flat: the launcher's `./engine-worker.js` is relative to whichever chunk it lands in.
          chunkFileNames: '[name]-[hash].js',
          assetFileNames: '[name][extname]',
          ...(options.whole ? { codeSplitting: false } : {}),
        },
      },
    },
  };
}

function licenceText(name: string): string {
  const dir = join(ROOT, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string; license?: string };
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `License: ${pkg.license ?? 'see the package'}`;
  return `${name} ${pkg.version ?? ''} (${pkg.license ?? 'unknown'})\n\n${text}\n`;
}

export async function buildLib(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  // The worker first: whole, with onnxruntime-web (whose wasm Vite emits next to it).
  await build(config({ 'engine-worker': 'workers/engine-worker.ts' }, { whole: true, minify: true }));
  await build(config({ index: 'src/package/index.ts', chat: 'src/component/index.ts' }, { whole: false, minify: false }));
  await build(config({ 'sarashina-chat': 'src/component/index.ts' }, { whole: true, minify: true }));
  for (const file of ['engine-worker.js', 'ort-wasm-simd-threaded.asyncify.wasm', 'index.js', 'chat.js', 'sarashina-chat.js']) {
    if (!existsSync(join(OUT, file))) throw new Error(`build-lib: ${relative(ROOT, join(OUT, file))} was not written`);
  }
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.lib.json'], { cwd: ROOT, stdio: 'inherit' });
  const licences = [...bundledPackages].sort().map(licenceText);
  writeFileSync(join(OUT, 'THIRD-PARTY-LICENSES.txt'), `Packages bundled into sarashina-webgpu's dist/lib files:\n\n${licences.join('\n---\n\n')}`);
}

await buildLib();
