/**
 * The int4-exactness tests of one model's fixtures (issue 15), registered by the model's parity test file so they share
 * its loaded packages: per precision the package bytes, the prefill runs and the decode-kernels-only runs of
 * src/testing/int4-fixtures.ts, with the bounds measured per CI adapter. Skipped until the GPU machine has made the
 * fixtures (export/reference/make-int4-fixtures.sh).
 */
import { expect, it } from 'vitest';
import type { GpuContext } from '../gpu/gpu-context';
import type { VisionLanguageModel } from '../model/vision-language-model';
import { hasInt4Fixtures, int4FixtureShards, runInt4Case } from './int4-fixtures';
import { testAdapter, testGpuContext } from './node-gpu';

/** Per precision, the bounds of the int4-exactness tests (relative L2 of logits; max error / max |value| of features). */
export interface Int4Bounds {
  readonly featuresMaxRel: number;
  /** First logits out of the engine's prefill. */
  readonly prefillRelL2: number;
  /** Decode steps after that prefill (the cache holds the prefill's rows). */
  readonly afterPrefillRelL2: number;
  /** Every step of the `kernels` run. */
  readonly kernelsRelL2: number;
}

/**
 * The bounds on the CI adapters, each path measured against the Hugging Face fixtures (2026-12-02, tiny, 8 steps;
 * odd passes the same bounds), with margin:
 * - q4f32 on SwiftShader: first logits ≤ 4.3e-7 relative L2 by either path, later steps ≤ 6.0e-7, features ≤ 1.3e-6
 *   (max error / max) — onnxruntime-web's prefill keeps f32 activations there (no int8 dot product on SwiftShader).
 *   Bound 1e-4, the fp32 tests' own. On an H200 the same prefill quantizes activations to int8 (1.4–2.0e-2 at full 8B
 *   width): bench/gpu/fidelity.sh measures that path there.
 * - q4f16 on lavapipe: ORT's f16 prefill 1.15–1.65e-3 (first logits), decode after it ≤ 7.6e-4, our decode kernels
 *   alone (f32 arithmetic, f16 KV cache and scales; no ORT at all) ≤ 1.9e-4 (3.6e-4 while the first prompt token
 *   still went through ORT's f16 prefill), f16 features ≤ 1.14e-3. Bounds about 2.5–8× those.
 * (The int4 weights themselves move the first logits 0.15–0.19 relative L2 from the checkpoint's: the fixtures'
 * firstLogitsVsCheckpointWeights.)
 */
export const INT4_BOUNDS: Readonly<Record<'q4f32' | 'q4f16', Int4Bounds>> = {
  q4f32: { featuresMaxRel: 1e-4, prefillRelL2: 1e-4, afterPrefillRelL2: 1e-4, kernelsRelL2: 1e-4 },
  q4f16: { featuresMaxRel: 4e-3, prefillRelL2: 4e-3, afterPrefillRelL2: 2e-3, kernelsRelL2: 1.5e-3 },
};

/** Reference steps compared per run in the tests: the last prompt position and 2 greedy tokens. */
export const INT4_TEST_STEPS = 3;

export interface Int4TestOptions {
  /** The model's fixtures folder (export/reference/fixtures/<model>). */
  readonly fixtures: string;
  /** Cases run through prefill; `kernelCases` (short text prompts) through the decode step alone. */
  readonly cases: readonly string[];
  readonly kernelCases: readonly string[];
  /** The loaded kernels-path model of a precision (the file's beforeAll loads it). */
  readonly model: (precision: 'q4f32' | 'q4f16') => VisionLanguageModel | undefined;
  /** Why `precision` does not run on this adapter, or null. */
  readonly skipReason: (ctx: GpuContext, precision: 'q4f32' | 'q4f16') => string | null;
}

/**
 * Registers the int4-exactness tests of one model's fixtures (inside the caller's describe): the package bytes, the
 * prefill runs and the kernels runs, for q4f32 and q4f16; skipped until the GPU machine has made the fixtures.
 */
export function int4ExactnessTests(o: Int4TestOptions): void {
  // SwiftShader's 120 s default is short for a first image case on a loaded 2-core machine (shader compiles and the
  // vision tower); lavapipe's project already allows 480 s.
  const timeout = testAdapter() === 'swiftshader' ? 300_000 : undefined;
  for (const precision of ['q4f32', 'q4f16'] as const) {
    const bounds = INT4_BOUNDS[precision];
    const made = hasInt4Fixtures(o.fixtures, precision);
    const ready = async (skip: (note?: string) => never): Promise<{ ctx: GpuContext; model: VisionLanguageModel }> => {
      const ctx = await testGpuContext();
      const reason = o.skipReason(ctx, precision);
      if (reason) skip(reason);
      const model = o.model(precision);
      if (!model) throw new Error(`no ${precision} model loaded`);
      return { ctx, model };
    };
    it.skipIf(!made)(`${precision}: the exported package holds the bytes the int4 fixtures were made from`, async ({ skip }) => {
      const { model } = await ready(skip);
      const { fixture, exported } = await int4FixtureShards(o.fixtures, precision, model.manifest);
      expect(exported, 'the exporter or the checkpoint changed: run export/reference/make-int4-fixtures.sh again').toEqual(fixture);
    });
    it.skipIf(!made).for(o.cases)(`${precision} %s: prefill, then decode along HF's greedy tokens, within the path's bounds of HF on the package's own weights`, { timeout }, async (name, { skip }) => {
      const { ctx, model } = await ready(skip);
      const run = await runInt4Case(ctx, model, o.fixtures, precision, name, 'prefill', INT4_TEST_STEPS);
      if (run.features) expect(run.features.maxRel, `features ${JSON.stringify(run.features)}`).toBeLessThan(bounds.featuresMaxRel);
      expect(run.steps[0]!.relL2, `first logits ${JSON.stringify(run.steps[0])}`).toBeLessThan(bounds.prefillRelL2);
      run.steps.slice(1).forEach((s, i) => expect(s.relL2, `step ${i + 1}: ${JSON.stringify(s)}`).toBeLessThan(bounds.afterPrefillRelL2));
      expect(run.tokens).toEqual(run.expectedTokens);
    });
    it.skipIf(!made).for(o.kernelCases)(`${precision} %s: our decode kernels alone (every prompt token through the decode step) within their bound of HF on the package's own weights`, { timeout }, async (name, { skip }) => {
      const { ctx, model } = await ready(skip);
      const run = await runInt4Case(ctx, model, o.fixtures, precision, name, 'kernels', INT4_TEST_STEPS);
      run.steps.forEach((s, i) => expect(s.relL2, `step ${i}: ${JSON.stringify(s)}`).toBeLessThan(bounds.kernelsRelL2));
      expect(run.tokens).toEqual(run.expectedTokens);
    });
  }
}
