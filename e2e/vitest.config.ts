import { defineConfig } from 'vitest/config';

// Browser tests: each file starts a Vite server on localhost and drives Debian's Chromium (WebGPU on
// SwiftShader) with playwright-core. One file at a time: two Chromiums on two cores only slow each other.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
