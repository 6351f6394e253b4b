/**
 * Test helper for the int4-exactness fixtures (issue 15, outcome 2): Hugging Face float32 run on an int4 package's
 * own dequantized weights (export/reference/hf_package_reference.py, made on the GPU machine by
 * export/reference/make-int4-fixtures.sh) under `<fixtures>/<precision>/`. With the package's weights on both sides
 * only the engine's arithmetic differs, so the bounds are tight — unlike the comparison with the checkpoint's
 * weights, where int4's own error (~0.5 % per matrix) needs a loose bound a bug could hide in.
 *
 * Two ways through the engine:
 * - `prefill`: the prompt through the engine's prefill (onnxruntime-web's decoder graph; q4f32's MatMulNBits with
 *   accuracy_level 4 quantizes activations to int8, q4f16's rounds every activation to f16), then decode steps along
 *   the reference's greedy tokens;
 * - `kernels`: no prefill; every prompt token and then the greedy tokens through our WGSL decode step from position 0
 *   — text prompts only, since image features enter through prefill. This is our kernels' own precision, with no
 *   onnxruntime-web anywhere.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromFloat16Array } from '../convert/quantize/float16';
import { readBuffer } from '../gpu/gpu-buffers';
import type { GpuContext } from '../gpu/gpu-context';
import type { FeatureSpan, ImageFeatures, VisionLanguageModel } from '../model/vision-language-model';
import type { PackageManifest } from '../protocol/manifest';
import { compareArrays, type ErrorStats } from './compare';
import { argmax, decodeSteps, imageSpans, runSteps } from './model-steps';
import { greedyCheckedSteps, loadCase } from './package-runner';

/** One case of an int4 fixture (case.json). */
export interface Int4Case {
  readonly name: string;
  /** The fp32 fixture case whose prompt (and pixels) this one takes; its ids are that case's or their head. */
  readonly source: string;
  readonly inputIds: number[];
  readonly grids: [number, number, number][];
  readonly imageFeatures?: { shape: [number, number] };
  readonly stepLogits: { shape: [number, number]; file: string };
  readonly greedy: { tokens: number[]; margins: number[] };
}

/** The fixture folder of `precision` under a model's fixtures (e.g. export/reference/fixtures/tiny/q4f32). */
export function int4FixtureDir(fixtures: string, precision: string): string {
  return join(fixtures, precision);
}

/** True when the GPU machine has made the fixtures of `precision` (until then the exactness tests skip). */
export function hasInt4Fixtures(fixtures: string, precision: string): boolean {
  return existsSync(join(int4FixtureDir(fixtures, precision), 'package.json'));
}

/**
 * The shards whose bytes the fixtures were made from, against the package the test exported: equal, or the
 * fixtures are stale (the exporter or checkpoint changed) and make-int4-fixtures.sh must be run again.
 */
export async function int4FixtureShards(fixtures: string, precision: string, manifest: PackageManifest): Promise<{ fixture: unknown; exported: unknown }> {
  const info = JSON.parse(await readFile(join(int4FixtureDir(fixtures, precision), 'package.json'), 'utf8')) as { precision: string; shards: { path: string; sha256: string }[] };
  return { fixture: { precision: info.precision, shards: info.shards }, exported: { precision: manifest.precision, shards: manifest.shards.map((s) => ({ path: s.path, sha256: s.sha256 })) } };
}

/** Relative L2 error ‖a − e‖ / ‖e‖ (the square root of compareArrays' NMSE) with the other statistics. */
export interface StepError extends ErrorStats {
  readonly relL2: number;
}

export function stepError(actual: Float32Array, expected: Float32Array): StepError {
  const s = compareArrays(actual, expected);
  return { ...s, relL2: Math.sqrt(s.nmse) };
}

export interface Int4Run {
  readonly c: Int4Case;
  /** Per reference step (the last prompt position, then after each greedy token): our logits against the reference's. */
  readonly steps: StepError[];
  /** Our argmax at each step, for the steps greedyCheckedSteps says the reference's margins decide. */
  readonly tokens: number[];
  readonly expectedTokens: number[];
  /** Our argmax at every compared step (the reference's greedy tokens are c.greedy.tokens). */
  readonly argmaxes: number[];
  /** Image features against the reference's (prefill runs of image cases). */
  readonly features: StepError | null;
}

/** Case `name` of the `precision` fixtures: its case.json, reference logits per step and image features (if any). */
export async function loadInt4Case(fixtures: string, precision: string, name: string): Promise<{ c: Int4Case; steps: Float32Array[]; features: Float32Array | null }> {
  const dir = join(int4FixtureDir(fixtures, precision), name);
  const c = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8')) as Int4Case;
  const [stored, V] = c.stepLogits.shape;
  const all = new Float32Array((await readFile(join(dir, c.stepLogits.file))).buffer.slice(0));
  if (all.length !== stored * V) throw new Error(`${dir}: step logits hold ${all.length} values, case.json says ${stored} × ${V}`);
  const features = c.imageFeatures ? new Float32Array((await readFile(join(dir, 'image_features.f32'))).buffer.slice(0)) : null;
  return { c, steps: Array.from({ length: stored }, (_, s) => all.subarray(s * V, (s + 1) * V)), features };
}

/**
 * Runs fixture case `name` through `model` the `way` given and compares the first `steps` reference steps (all when
 * omitted). Pixels and ids are the fp32 fixture's (`fixtures/<source>/`), logits and features the int4 fixture's
 * (`fixtures/<precision>/<name>/`).
 */
export async function runInt4Case(
  ctx: GpuContext,
  model: VisionLanguageModel,
  fixtures: string,
  precision: string,
  name: string,
  way: 'prefill' | 'kernels',
  steps?: number,
): Promise<Int4Run> {
  const dir = join(int4FixtureDir(fixtures, precision), name);
  const { c, steps: stored, features: want } = await loadInt4Case(fixtures, precision, name);
  if (c.stepLogits.shape[1] !== model.spec.text.vocabSize) throw new Error(`${dir}: logits of ${c.stepLogits.shape[1]} ids, the model has ${model.spec.text.vocabSize}`);
  const stepCount = Math.min(stored.length, steps ?? stored.length);
  const reference = stored.slice(0, stepCount);
  const { c: inputs, pixels } = await loadCase(fixtures, c.source);
  if (inputs.inputIds.slice(0, c.inputIds.length).join() !== c.inputIds.join()) throw new Error(`${dir}: input ids are not those of ${fixtures}/${c.source}`);
  const ids = Int32Array.from(c.inputIds);
  const checked = Math.min(stepCount, greedyCheckedSteps(c.greedy));
  let encoded: ImageFeatures | null = null;
  try {
    let ours: Float32Array[];
    let features: StepError | null = null;
    if (way === 'kernels') {
      if (c.imageFeatures) throw new Error(`${name}: the kernels-only run takes text prompts (image features enter through prefill)`);
      // No prefill at all: the decode step from position 0, each prompt token and then the reference's greedy tokens.
      ours = (await decodeSteps(ctx, model, [...c.inputIds, ...c.greedy.tokens.slice(0, stepCount - 1)])).slice(ids.length - 1);
    } else {
      let spans: FeatureSpan[] = [];
      if (pixels && c.imageFeatures) {
        encoded = await model.encodeImages({ pixelValues: pixels, grids: c.grids.map(([t, h, w]) => ({ t, h, w })) });
        features = stepError(await readFeatures(ctx, model, encoded), want!);
        spans = imageSpans(ids, model.spec.tokens.image, encoded);
      }
      ours = (await runSteps(ctx, model, { ids, spans }, stepCount - 1, c.greedy.tokens)).logits;
    }
    return {
      c,
      steps: reference.map((r, s) => stepError(ours[s]!, r)),
      tokens: ours.slice(0, checked).map(argmax),
      argmaxes: ours.slice(0, stepCount).map(argmax),
      expectedTokens: c.greedy.tokens.slice(0, checked),
      features,
    };
  } finally {
    encoded?.release();
  }
}

/** Features as f32 (q4f16 packages keep them in f16). */
async function readFeatures(ctx: GpuContext, model: VisionLanguageModel, features: ImageFeatures): Promise<Float32Array> {
  const count = features.rows * model.spec.text.hiddenSize;
  if (model.precision === 'q4f16') return fromFloat16Array(new Uint16Array(await readBuffer(ctx.device, features.buffer, count * 2)));
  return new Float32Array(await readBuffer(ctx.device, features.buffer, count * 4));
}
