/**
 * SarashinaModel on the odd checkpoint (export/reference/fixtures/odd: hidden 144 = 3 heads of 48, intermediate
 * 212, vocab 1000, vision 120 = 3 heads of 40, MLP 240 — no width a multiple of 32, so every int4 linear has a
 * padded last block): the fp32 package against the plain-TS reference forward (export/reference-forward) and, once
 * the GPU machine has made them, the Hugging Face fixtures; the int4 packages' kernel decode against ORT's decode
 * (onnxruntime's MatMulNBits reading the same padded blocks). q4f16 needs shader-f16 (its ORT prefill graph is f16).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig } from '../convert/hf-config';
import { exportPackage } from '../../export/package/export-package';
import { decoderForwardReference } from '../../export/reference-forward/decoder-reference';
import { visionForwardReference } from '../../export/reference-forward/vision-reference';
import { SafetensorsCheckpoint } from '../convert/safetensors/safetensors-checkpoint';
import { readBuffer } from '../gpu/gpu-buffers';
import { NodeDirSource } from '../loader/node-dir-source';
import type { ModelSpec } from '../protocol/model-spec';
import { WEIGHTS } from '../protocol/weight-names';
import { compareArrays, randomFloats } from '../testing/compare';
import { loadModel } from '../testing/load-model';
import { runSteps } from '../testing/model-steps';
import { testGpuContext } from '../testing/node-gpu';
import { int4ExactnessTests } from '../testing/int4-exactness-tests';
import { greedyCheckedSteps, loadCase } from '../testing/package-runner';
import type { SarashinaModel } from './sarashina-model';
import type { FeatureSpan, ImageFeatures } from './vision-language-model';
import { openCheckpointLocation } from '../convert/node-checkpoint-source';

const FIXTURES = 'export/reference/fixtures/odd';
const CHECKPOINT = join(FIXTURES, 'checkpoint');
/** Made on the GPU machine (FIXTURES/README.md); until then the Hugging Face comparison is skipped. */
const HAS_HF_FIXTURES = existsSync(join(FIXTURES, 'text-en', 'case.json'));
const CONTEXT = 256;
const NO_F16 = 'q4f16 needs shader-f16 (its ORT prefill graph is f16) and this adapter has none';
/** One image of 4 × 6 patches → 6 features. */
const GRID = { t: 1, h: 4, w: 6 };

interface Prompt {
  readonly ids: Int32Array;
  readonly spans: FeatureSpan[];
  readonly features: ImageFeatures | null;
}


/** `<s>`, a few ordinary ids, `<|prefix|>` + 6 × `<|file|>` + `<|suffix|>`, more ids: the image's features at the file run. */
function promptIds(spec: ModelSpec): Int32Array {
  const files = (GRID.t * GRID.h * GRID.w) / 4;
  return Int32Array.from([spec.tokens.bos, 400, 523, 871, spec.tokens.imageStart, ...Array<number>(files).fill(spec.tokens.image), spec.tokens.imageEnd, 612, 305, 999, 288]);
}

async function imagePrompt(model: SarashinaModel, pixels: Float32Array): Promise<Prompt> {
  const ids = promptIds(model.spec);
  const features = await model.encodeImages({ pixelValues: pixels, grids: [GRID] });
  const start = ids.indexOf(model.spec.tokens.image);
  return { ids, spans: [{ start, length: features.rows, features, featureRow: 0 }], features };
}

describe('SarashinaModel on the odd packages (no width a multiple of 32)', () => {
  let dir: string;
  const models: Record<string, SarashinaModel> = {};
  let spec: ModelSpec;
  let weight: (name: string) => Float32Array;
  // Pixel values in the processor's normalized range (about ±2).
  const pixels = Float32Array.from(randomFloats(GRID.h * GRID.w * 1176, 5), (v) => 2 * v);

  beforeAll(async () => {
    const ctx = await testGpuContext();
    dir = await mkdtemp(join(tmpdir(), 'odd-model-'));
    const ckpt = await SafetensorsCheckpoint.open(openCheckpointLocation(CHECKPOINT));
    spec = parseModelConfig(JSON.parse(await readFile(join(CHECKPOINT, 'config.json'), 'utf8')));
    const tensors = new Map<string, Float32Array>();
    for (const name of ckpt.tensors.keys()) tensors.set(name, (await ckpt.readFloat32(name)).data);
    weight = (name) => tensors.get(name) ?? new Float32Array(0);
    // With shader-f16 (lavapipe) q4f16 instead of q4f32: the f32-activation int4 path is SwiftShader's to check, and
    // each package loaded costs this adapter cold shader compiles.
    for (const precision of ctx.capabilities.shaderF16 ? (['fp32', 'q4f16'] as const) : (['fp32', 'q4f32'] as const)) {
      await exportPackage(CHECKPOINT, join(dir, precision), { precision });
      const source = new NodeDirSource(join(dir, precision));
      models[`${precision}/kernels`] = await loadModel(ctx, source, { contextTokens: CONTEXT });
      if (precision !== 'fp32') models[`${precision}/ort`] = await loadModel(ctx, source, { contextTokens: CONTEXT, decodePath: 'ort-baseline' });
    }
  }, 480_000);
  afterAll(async () => {
    for (const m of Object.values(models)) await m.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('fp32: image features, prefill logits and 4 kernel decode steps equal the plain-TS reference forward', async () => {
    const ctx = await testGpuContext();
    const model = models['fp32/kernels']!;
    expect(model.decodePath).toBe('kernels');
    const p = await imagePrompt(model, pixels);
    try {
      const H = spec.text.hiddenSize;
      const features = new Float32Array(await readBuffer(ctx.device, p.features!.buffer, p.features!.rows * H * 4));
      const wantFeatures = visionForwardReference(spec, weight, pixels, [GRID]);
      const fs = compareArrays(features, wantFeatures);
      expect(fs.maxRel, JSON.stringify(fs)).toBeLessThan(1e-4);

      const { logits, tokens } = await runSteps(ctx, model, p, 4);
      // The reference decoder on the same embeddings: table rows, the reference image features at the file run.
      const ids = [...p.ids, ...tokens];
      const table = weight(WEIGHTS.embedTokens);
      const embeds = new Float32Array(ids.length * H);
      let row = 0;
      ids.forEach((id, i) => embeds.set(id === spec.tokens.image ? wantFeatures.subarray(H * row++, H * row) : table.subarray(id * H, (id + 1) * H), i * H));
      const all = decoderForwardReference(spec, weight, embeds);
      const V = spec.text.vocabSize;
      for (let s = 0; s < logits.length; s++) {
        const pos = p.ids.length - 1 + s;
        const stats = compareArrays(logits[s]!, all.subarray(pos * V, (pos + 1) * V));
        expect(stats.maxRel, `step ${s}: ${JSON.stringify(stats)}`).toBeLessThan(1e-3);
      }
    } finally {
      p.features?.release();
    }
  });

  // The int4 GEMVs' padded last blocks (K = 144, 212) against ORT's MatMulNBits on the same bytes; bounds of the
  // tiny model's tests (src/model/sarashina-model.test.ts): q4f32 the same f32 math (1e-5), q4f16 ORT's f16 rounding.
  for (const [precision, maxRel, nmse] of [
    ['q4f32', 1e-5, 1e-10],
    ['q4f16', 5e-3, 1e-5],
  ] as const) {
    it(`${precision}: int4 kernel decode tracks ORT decode step by step`, async ({ skip }) => {
      const ctx = await testGpuContext();
      if (precision === 'q4f16' && !ctx.capabilities.shaderF16) skip(NO_F16);
      if (precision === 'q4f32' && ctx.capabilities.shaderF16) skip('q4f32 runs on the adapter without shader-f16 (SwiftShader)');
      const kernel = models[`${precision}/kernels`]!;
      expect(kernel.decodePath).toBe('kernels');
      const p = await imagePrompt(kernel, pixels);
      try {
        const ours = await runSteps(ctx, kernel, p, 6);
        const base = await runSteps(ctx, models[`${precision}/ort`]!, p, 6, ours.tokens);
        expect(compareArrays(ours.logits[0]!, base.logits[0]!).maxRel).toBe(0); // the same prefill
        for (let s = 1; s < ours.logits.length; s++) {
          const d = compareArrays(ours.logits[s]!, base.logits[s]!);
          expect(d.maxRel, `step ${s}: ${JSON.stringify(d)}`).toBeLessThan(maxRel);
          expect(d.nmse, `step ${s}: ${JSON.stringify(d)}`).toBeLessThan(nmse);
        }
      } finally {
        p.features?.release();
      }
    });
  }

  // int4 exactness (issue 15): Hugging Face on each int4 package's own weights, tight bounds per path, as for the tiny
  // model (src/testing/int4-fixtures.ts); every int4 linear here has a padded last block.
  int4ExactnessTests({
    fixtures: FIXTURES,
    cases: ['image-ja'],
    kernelCases: ['text-ja-head16'],
    model: (precision) => models[`${precision}/kernels`],
    skipReason: (ctx, precision) =>
      precision === 'q4f16' ? (ctx.capabilities.shaderF16 ? null : NO_F16) : ctx.capabilities.shaderF16 ? 'q4f32 runs on the adapter without shader-f16 (SwiftShader)' : null,
  });

  // As the tiny model's fp32 test: Hugging Face's logits and greedy tokens through our vision and decode kernels.
  it.skipIf(!HAS_HF_FIXTURES).each(['text-en', 'image-ja', 'two-images-en'])('fp32 %s: first logits within 1e-3, greedy tokens equal Hugging Face', async (name) => {
    const ctx = await testGpuContext();
    const model = models['fp32/kernels']!;
    const { c, pixels: casePixels, logits: reference } = await loadCase(FIXTURES, name);
    const ids = Int32Array.from(c.inputIds);
    const spans: FeatureSpan[] = [];
    const features = casePixels ? await model.encodeImages({ pixelValues: casePixels, grids: c.grids.map(([t, h, w]) => ({ t, h, w })) }) : null;
    try {
      let row = 0;
      for (let i = 0; i < ids.length && features; i++) {
        if (ids[i] !== model.spec.tokens.image || (i > 0 && ids[i - 1] === model.spec.tokens.image)) continue;
        let end = i;
        while (ids[end] === model.spec.tokens.image) end++;
        spans.push({ start: i, length: end - i, features, featureRow: row });
        row += end - i;
      }
      const n = greedyCheckedSteps(c.greedy);
      const { logits, tokens } = await runSteps(ctx, model, { ids, spans }, n);
      const stats = compareArrays(logits[0]!, reference);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(1e-3);
      expect(tokens).toEqual(c.greedy.tokens.slice(0, n));
    } finally {
      features?.release();
    }
  });
});
