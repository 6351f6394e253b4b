import { defineConfig } from 'vitest/config';

// Unit tests run in Node on real WebGPU (Dawn + SwiftShader). `--liftoff-only` keeps V8 from spending
// 30-50 s optimizing onnxruntime-web's wasm on the first run (../shared/reference/ort-web-probe.md).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'shaders/**/*.test.ts', 'export/**/*.test.ts', 'workers/**/*.test.ts'],
    pool: 'forks',
    execArgv: ['--liftoff-only'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
