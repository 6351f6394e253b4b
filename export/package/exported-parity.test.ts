/**
 * The exported graphs of the tiny checkpoint, run in onnxruntime-web on WebGPU with weights read from
 * the package's shards, against the Hugging Face fixtures (export/reference/fixtures/tiny, made by
 * export/reference/hf_reference.py on the GPU machine): image features (vision-whole), first-step logits and
 * greedy tokens (decoder).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefillChunkTokens } from '../../src/model/prefill-chunking';
import { compareArrays } from '../../src/testing/compare';
import { testGpuContext } from '../../src/testing/node-gpu';
import { INT4_BOUNDS } from '../../src/testing/int4-exactness-tests';
import { hasInt4Fixtures, loadInt4Case, stepError } from '../../src/testing/int4-fixtures';
import { embed, generate, greedyCheckedSteps, LoadedPackage, loadCase, visionWhole } from '../../src/testing/package-runner';
import { exportPackage } from './export-package';
import { readPackageManifest } from './package-reader';

const FIXTURES = 'export/reference/fixtures/tiny';
const CASES = ['image-ja', 'two-images-en', 'text-en'];

/**
 * Prompt tokens per prefill run: the engine's own choice for the adapter (src/model/prefill-chunking.ts, where the
 * measurements are). onnxruntime-web 1.30's GroupQueryAttention gives wrong rows for a single prefill run of ≥ 32
 * tokens on SwiftShader (subgroup size 4) and lavapipe (subgroup size 8), while the same probe on an H200 (subgroup
 * size 32) is exact up to S = 1024, D = 128, 32 heads (2026-11-26); so these cases, prefilled in the engine's runs,
 * check that choice too. The same cases run on the H200 through Dawn/Vulkan (bundled probe, 2026-11-26): fp32 image
 * features maxRel ≤ 1.4e-6 (vision-whole), first logits ≤ 4.4e-7 with one prefill run of up to 330 tokens, greedy
 * tokens equal; q4f32 logits NMSE 0.021–0.026.
 */
describe('exported tiny package vs Hugging Face fixtures (WebGPU, no CPU fallback)', () => {
  let dir: string;
  const packages: Record<string, LoadedPackage> = {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'exported-parity-'));
    for (const precision of ['fp32', 'q4f32'] as const) {
      const out = join(dir, precision);
      await exportPackage(join(FIXTURES, 'checkpoint'), out, { precision });
      packages[precision] = new LoadedPackage(out, await readPackageManifest(out));
    }
  });
  afterAll(async () => {
    for (const pkg of Object.values(packages)) await pkg.release();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('fp32 %s: image features within 1e-4, logits within 1e-4, greedy tokens equal', async (name) => {
    const ctx = await testGpuContext();
    const pkg = packages.fp32!;
    const { c, pixels, features, logits } = await loadCase(FIXTURES, name);
    const grids = c.grids.map(([t, h, w]) => ({ t, h, w }));
    let ours: Float32Array | null = null;
    if (pixels && features) {
      ours = await visionWhole(ctx, pkg, pixels, grids);
      const stats = compareArrays(ours, features);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(1e-4);
    }
    const { firstLogits, tokens } = await generate(ctx, pkg, await embed(pkg, c.inputIds, ours), c.greedy.tokens.length, prefillChunkTokens(ctx.capabilities));
    const stats = compareArrays(firstLogits, logits);
    expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(1e-4);
    const n = greedyCheckedSteps(c.greedy);
    expect(tokens.slice(0, n)).toEqual(c.greedy.tokens.slice(0, n));
  });

  // q4f32 against Hugging Face on the package's OWN dequantized weights (fixtures q4f32/, src/testing/int4-fixtures.ts):
  // the exported graphs' arithmetic alone, under the engine's int4-exactness bounds. (Against the checkpoint's weights,
  // as before, int4's own error needed NMSE < 0.05 and max error < 0.25 · max |logit|.) The vision graph keeps f32
  // weights in q4f32; the decoder's MatMulNBits has accuracy_level 4, which keeps f32 activations on these CPU adapters
  // and quantizes them to int8 on an H200 (bench/gpu/fidelity.sh measures that).
  it.skipIf(!hasInt4Fixtures(FIXTURES, 'q4f32')).each(CASES)("q4f32 %s: image features and first logits within the int4-exactness bounds of HF on the package's own weights", async (name) => {
    const ctx = await testGpuContext();
    const pkg = packages.q4f32!;
    const bounds = INT4_BOUNDS.q4f32;
    const { c, pixels } = await loadCase(FIXTURES, name);
    const reference = await loadInt4Case(FIXTURES, 'q4f32', name);
    const grids = c.grids.map(([t, h, w]) => ({ t, h, w }));
    let ours: Float32Array | null = null;
    if (pixels && reference.features) {
      ours = await visionWhole(ctx, pkg, pixels, grids);
      const stats = compareArrays(ours, reference.features);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(bounds.featuresMaxRel);
    }
    const { firstLogits } = await generate(ctx, pkg, await embed(pkg, c.inputIds, ours), 0, prefillChunkTokens(ctx.capabilities));
    const stats = stepError(firstLogits, reference.steps[0]!);
    expect(stats.relL2, JSON.stringify(stats)).toBeLessThan(bounds.prefillRelL2);
  });
});
