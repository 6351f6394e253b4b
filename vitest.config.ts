import { defineConfig } from 'vitest/config';

// Unit tests run in Node on real WebGPU (Dawn) on two CPU adapters that differ where GPUs differ (DESIGN.md §8):
// every file on SwiftShader (no shader-f16, subgroups of 4, 1 GiB bindings); the kernel and engine parity tests
// again on lavapipe (shader-f16, subgroups of 8, 128 MiB bindings). Pure-TS, processor and loader tests would only
// repeat themselves there. A project names its adapter in SARASHINA_TEST_ADAPTER (its forked workers get it); the
// setup file points VK_ICD_FILENAMES at that driver, for Dawn and for child processes (`npm run chat`).
// `npm run test:unit` (scripts/test-unit.mjs) runs the two projects as two vitest runs side by side, lavapipe one file
// at a time (two lavapipe files at once both compile the kernels they share); `vitest run` with this file alone runs
// both projects in one pool. `--liftoff-only` keeps V8 from spending 30-50 s optimizing onnxruntime-web's wasm on the
// first run (../shared/reference/ort-web-probe.md).
const ALL = ['src/**/*.test.ts', 'shaders/**/*.test.ts', 'export/**/*.test.ts', 'workers/**/*.test.ts', 'scripts/**/*.test.ts'];
// decode-attention.test.ts and int4-gemv.test.ts run on SwiftShader only: their f16 variants need no shader-f16 (packed
// pairs, unpack2x16float), lavapipe spent ~140 s and ~150–300 s compiling them cold in CI, and the q4f16 engine tests
// below run both kernels on lavapipe (subgroups of 8, f16 scales and KV) against Hugging Face and onnxruntime.
const ON_LAVAPIPE = [
  'src/testing/node-gpu.test.ts',
  'shaders/**/*.test.ts',
  'src/model/sarashina-model.test.ts',
  'src/model/odd-model.test.ts',
  'src/model/vision-encoder.test.ts',
  'src/api/create-engine.test.ts',
  'export/package/exported-parity.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    execArgv: ['--liftoff-only'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    setupFiles: ['src/testing/test-adapter-setup.ts'],
    projects: [
      { extends: true, test: { name: 'swiftshader', include: ALL, env: { SARASHINA_TEST_ADAPTER: 'swiftshader' } } },
      // lavapipe compiles each kernel variant with LLVM on first use: on a cold Mesa shader cache (a fresh CI machine)
      // one variant can take ~30 s of CPU, so a first test or beforeAll may spend minutes compiling. GALLIVM_PERF=nopt
      // skips LLVM's IR optimisation passes (same results, slower code): int4-gemv.test.ts on a cold cache took 133 s
      // of CPU instead of 173 s (2026-12-02); kernels run in milliseconds here, compiling is what costs.
      {
        extends: true,
        test: {
          name: 'lavapipe',
          include: ON_LAVAPIPE,
          exclude: ['**/node_modules/**', 'shaders/decoder/decode-attention/**', 'shaders/decoder/int4-gemv/**'],
          env: { SARASHINA_TEST_ADAPTER: 'lavapipe', GALLIVM_PERF: 'nopt' },
          testTimeout: 480_000,
          hookTimeout: 480_000,
        },
      },
    ],
  },
});
