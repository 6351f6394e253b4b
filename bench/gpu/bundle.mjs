// Bundles a bench entry (TypeScript, `?raw` WGSL inlined) into bench/out/gpu-bundle/<name>.mjs for the
// GPU machine, which has Node but no node_modules. Usage: node bench/gpu/bundle.mjs bench/int4-gemv.bench.ts
import { basename } from 'node:path';
import { build } from 'vite';

const entry = process.argv[2];
if (!entry) throw new Error('usage: node bench/gpu/bundle.mjs <entry.ts>');
const name = basename(entry).replace(/\.bench\.ts$|\.ts$/, '');
await build({
  configFile: false,
  logLevel: 'warn',
  ssr: { noExternal: true },
  build: {
    ssr: entry,
    outDir: 'bench/out/gpu-bundle',
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    rollupOptions: {
      // Dawn is loaded from $DAWN_WEBGPU_PACKAGE on the GPU machine (see .gpu/env.sh).
      external: ['webgpu'],
      output: { entryFileNames: `${name}.mjs`, format: 'es', codeSplitting: false },
    },
  },
});
console.log(`bench/out/gpu-bundle/${name}.mjs`);
