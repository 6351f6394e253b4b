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
 * Three rolldown builds: one entry cannot be split and another left whole in one build.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'rolldown';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist/lib');
const PACKAGE_LAUNCHER = join(ROOT, 'workers/package-worker-launcher.ts');
const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';
const VITE_IGNORE = /\/\*\s*@vite-ignore\s*\*\/\s*/g;

/** Every node_modules package that ended up in a bundle (for the licence file). */
const bundledPackages = new Set<string>();

/**
 * What the repository's Vite setup does for these sources, for a plain rolldown build: WGSL `?raw` imports, the
 * package's launcher in place of the repository's, its @vite-ignore markers removed from the output.
 * (Rolldown, not Vite: Vite's output for a dynamic import carries its `__vitePreload` helper, which collides with
 * the helper an app's Vite adds when it bundles this package.)
 */
function packageBuild(): Plugin {
  return {
    name: 'sarashina:package-build',
    resolveId(source, importer) {
      if (source === './worker-launcher' && importer && dirname(importer) === join(ROOT, 'workers')) return PACKAGE_LAUNCHER;
      if (source.endsWith('?raw') && importer) return `${join(dirname(importer), source.slice(0, -'?raw'.length))}?raw`;
      return null;
    },
    load(id) {
      if (!id.endsWith('?raw')) return null;
      return { code: `export default ${JSON.stringify(readFileSync(id.slice(0, -'?raw'.length), 'utf8'))};`, moduleType: 'js' };
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

function config(entries: Record<string, string>, options: { whole: boolean; minify: boolean }): BuildOptions {
  return {
    input: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, join(ROOT, file)])),
    platform: 'browser',
    plugins: [packageBuild()],
    preserveEntrySignatures: 'strict',
    transform: { target: 'es2022', define: { 'process.env.NODE_ENV': '"production"' } },
    logLevel: 'warn',
    output: {
      dir: OUT,
      format: 'es',
      minify: options.minify,
      entryFileNames: '[name].js',
      // Flat: the launcher's `./engine-worker.js` is relative to whichever chunk it lands in.
      chunkFileNames: '[name]-[hash].js',
      ...(options.whole ? { codeSplitting: false } : {}),
    },
  };
}

function licenceText(name: string): string {
  const dir = join(ROOT, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string; license?: string; repository?: { url?: string } | string };
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const repository = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository?.url ?? 'its npm page');
  const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `The npm package ships no licence file; its licence is ${pkg.license ?? 'not stated'}, text at ${repository}.`;
  return `${name} ${pkg.version ?? ''} (${pkg.license ?? 'unknown'})\n\n${text}\n`;
}

export async function buildLib(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  // The worker whole, with onnxruntime-web, whose bundle finds its wasm next to itself (new URL(…, import.meta.url)).
  await build(config({ 'engine-worker': 'workers/engine-worker.ts' }, { whole: true, minify: true }));
  copyFileSync(join(ROOT, 'node_modules/onnxruntime-web/dist', ORT_WASM), join(OUT, ORT_WASM));
  // For apps: split, readable; onnxruntime-web (createEngine in the page) a lazily imported chunk.
  await build(config({ index: 'src/package/index.ts', chat: 'src/component/index.ts' }, { whole: false, minify: false }));
  // For one <script type="module">: the element and the worker client in one file.
  await build(config({ 'sarashina-chat': 'src/component/index.ts' }, { whole: true, minify: true }));
  for (const file of ['engine-worker.js', ORT_WASM, 'index.js', 'chat.js', 'sarashina-chat.js']) {
    if (!existsSync(join(OUT, file))) throw new Error(`build-lib: ${relative(ROOT, join(OUT, file))} was not written`);
  }
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.lib.json'], { cwd: ROOT, stdio: 'inherit' });
  const licences = [...bundledPackages].sort().map(licenceText);
  writeFileSync(join(OUT, 'THIRD-PARTY-LICENSES.txt'), `Packages bundled into sarashina-webgpu's dist/lib files:\n\n${licences.join('\n---\n\n')}`);
}

await buildLib();
