/**
 * chooseVariant on the real 8B (its config.json and the exporter's weight plan: what its variants.json would say)
 * and planPackage on packages exported from the tiny Hugging Face fixture checkpoint. Expected values come from the
 * config files and from the documented rules (q4f16 needs shader-f16; the KV cache of fp32/q4f32 is f32, of q4f16
 * f16; SwiftShader prefills 16 tokens per run), never from the code under test.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../../export/package/export-package';
import type { GpuCapabilities } from '../gpu/gpu-context';
import { NodeDirSource } from '../loader/node-dir-source';
import type { PackageManifest } from '../protocol/manifest';
import { readManifest } from '../protocol/package-source';
import { precisionDtypes } from '../protocol/precision-dtypes';
import { buildVariantIndex } from '../protocol/variant-index';
import { scalesName, WEIGHTS } from '../protocol/weight-names';
import { real8bIndex, real8bSpec, real8bWeights } from '../testing/real-8b';
import { plannedEntries, planWeights } from '../convert/package/weight-plan';
import { estimateMemory } from './memory-estimate';
import { chooseVariant, planPackage } from './package-plan';

const CHECKPOINT = 'export/reference/fixtures/tiny/checkpoint';

/** An adapter with f16, wide subgroups and 1 GiB bindings (numbers of a desktop GPU). */
const desktop: GpuCapabilities = {
  vendor: 'test',
  architecture: '',
  description: '',
  isFallbackAdapter: false,
  shaderF16: true,
  subgroups: true,
  subgroupMinSize: 32,
  subgroupMaxSize: 32,
  timestampQuery: false,
  subgroupMatrix: false,
  subgroupMatrixConfigs: [],
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 30,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
};

describe('planPackage', () => {
  let dir: string;
  const manifests: Record<string, PackageManifest> = {};
  let config: { text_config: { max_position_embeddings: number; num_hidden_layers: number; num_key_value_heads: number; num_attention_heads: number; hidden_size: number } };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'package-plan-'));
    config = JSON.parse(await readFile(join(CHECKPOINT, 'config.json'), 'utf8')) as typeof config;
    for (const precision of ['fp32', 'q4f16'] as const) {
      await exportPackage(CHECKPOINT, join(dir, precision), { precision });
      manifests[precision] = await readManifest(new NodeDirSource(join(dir, precision)));
    }
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fp32 on a desktop adapter: f32 activations and KV, our kernels, the model context, wide prefill runs', () => {
    const plan = planPackage(manifests.fp32!, desktop);
    expect(plan.precision).toBe('fp32');
    expect(plan.dtypes.activation).toBe('float32');
    expect(plan.kvElementBytes).toBe(4);
    expect(plan.contextTokens).toBe(config.text_config.max_position_embeddings);
    expect(plan.decodePath).toBe('kernels');
    expect(plan.decodePathReason).toBeNull();
    expect(plan.visionPath).toBe('kernels');
    expect(plan.prefillChunkTokens).toBeGreaterThan(16);
  });

  it('q4f16 needs shader-f16: a typed error before anything is loaded', () => {
    expect(() => planPackage(manifests.q4f16!, { ...desktop, shaderF16: false })).toThrow(expect.objectContaining({ code: 'gpu-feature-missing' }));
  });

  it('q4f16 with shader-f16: f16 activations and a half-size KV element; decode through our kernels', () => {
    const plan = planPackage(manifests.q4f16!, desktop, { contextTokens: 64 });
    expect(plan.dtypes.activation).toBe('float16');
    expect(plan.kvElementBytes).toBe(2);
    expect(plan.contextTokens).toBe(64);
    expect(plan.decodePath).toBe('kernels');
    expect(plan.decodePathReason).toBeNull();
    expect(planPackage(manifests.q4f16!, desktop, { decodePath: 'ort-baseline' }).decodePath).toBe('ort-baseline');
  });

  it('a package outside what the decode kernels read falls back to the ORT decode path, naming the weight', () => {
    const fp32 = manifests.fp32!;
    // f16 norm weights in front of f32 linears: the separate RMSNorm kernel of the f32 path reads f32 only.
    const weights = { ...fp32.weights, [WEIGHTS.finalNorm]: { ...fp32.weights[WEIGHTS.finalNorm]!, dtype: 'float16' as const } };
    const plan = planPackage({ ...fp32, weights }, desktop);
    expect(plan.decodePath).toBe('ort-baseline');
    expect(plan.decodePathReason).toMatch(/llm\.model\.norm\.weight is float16/);
    // One int4 scale type per package (q, k and v are one dispatch).
    const q4f16 = manifests.q4f16!;
    const lmHeadScales = scalesName(WEIGHTS.lmHead);
    const mixed = { ...q4f16.weights, [lmHeadScales]: { ...q4f16.weights[lmHeadScales]!, dtype: 'float32' as const } };
    expect(planPackage({ ...q4f16, weights: mixed }, desktop).decodePathReason).toMatch(/mix float16 and float32 scales/);
  });

  it('refuses head sizes the runtimes cannot run before anything is downloaded, naming the size', () => {
    const fp32 = manifests.fp32!;
    const text = { ...fp32.model.text, hiddenSize: 72, numHeads: 4, numKvHeads: 4, headDim: 18 };
    expect(() => planPackage({ ...fp32, model: { ...fp32.model, text } }, desktop)).toThrow(expect.objectContaining({ code: 'invalid-model', message: expect.stringContaining('head size is 18') }));
    const vision = { ...fp32.model.vision, embedDim: 80, numHeads: 4 };
    expect(() => planPackage({ ...fp32, model: { ...fp32.model, vision } }, desktop)).toThrow(expect.objectContaining({ code: 'invalid-model', message: expect.stringContaining('head size is 20') }));
  });

  it('a software adapter prefills in runs of 16 (onnxruntime-web GQA exactness, ARCHITECTURE.md), never more than the context', () => {
    const fallback = { ...desktop, isFallbackAdapter: true, subgroupMinSize: 4 };
    expect(planPackage(manifests.fp32!, fallback).prefillChunkTokens).toBe(16);
    expect(planPackage(manifests.fp32!, desktop, { contextTokens: 8 }).prefillChunkTokens).toBe(8);
  });

  it('refuses a context beyond max_position_embeddings with invalid-request', () => {
    const tooLong = config.text_config.max_position_embeddings + 1;
    expect(() => planPackage(manifests.fp32!, desktop, { contextTokens: tooLong })).toThrow(expect.objectContaining({ code: 'invalid-request' }));
  });

  it('a single package: its only variant, a forced other precision is invalid-request', () => {
    expect(planPackage(manifests.fp32!, desktop).precisionReason).toBe('fp32: the only variant of this model');
    expect(() => planPackage(manifests.fp32!, desktop, { precision: 'q4f32' })).toThrow(expect.objectContaining({ code: 'invalid-request', message: expect.stringContaining('fp32') }));
  });

  it('a KV layer buffer over the binding limit: the default context is lowered to fit it; a larger request is gpu-limits-too-low', () => {
    // The tiny decoder: 4 KV heads × 16 dims × 4 bytes (f32) = 256 bytes per token and layer buffer.
    const perToken = config.text_config.num_key_value_heads * (config.text_config.hidden_size / config.text_config.num_attention_heads) * 4;
    // 3000 tokens' worth: above every weight (the largest, the f32 embedding table, is 0.5 MiB), below 4096 tokens.
    const caps = { ...desktop, maxStorageBufferBindingSize: 3000 * perToken };
    expect(planPackage(manifests.fp32!, caps).contextTokens).toBe(3000);
    expect(() => planPackage(manifests.fp32!, caps, { contextTokens: 3001 })).toThrow(expect.objectContaining({ code: 'gpu-limits-too-low', message: expect.stringContaining('at most 3000') }));
  });

  it('with a variant chosen from an index, the manifest must be that variant', () => {
    const file = { sizeBytes: 1, sha256: '0'.repeat(64) };
    const index = buildVariantIndex([
      { path: 'q4f16', manifest: manifests.q4f16!, manifestFile: file },
      { path: 'fp32', manifest: manifests.fp32!, manifestFile: file },
    ]);
    const variant = chooseVariant(index, desktop);
    expect(variant.precision).toBe('q4f16');
    expect(planPackage(manifests.q4f16!, desktop, { variant }).precisionReason).toBe('q4f16: the fastest of the offered variants (q4f16, fp32)');
    expect(() => planPackage(manifests.fp32!, desktop, { variant })).toThrow(expect.objectContaining({ code: 'invalid-model', message: expect.stringContaining('precision') }));
  });
});

describe('chooseVariant: the real 8B offered as q4f32 and q4f16', () => {
  const GiB = 2 ** 30;
  const index = real8bIndex(['q4f32', 'q4f16']);
  const noF16 = { ...desktop, shaderF16: false };
  /** lavapipe: f16, but the 128 MiB per binding WebGPU guarantees. */
  const smallBindings = { ...desktop, subgroupMinSize: 8, maxStorageBufferBindingSize: 2 ** 27 };

  // WebGPU's default maxStorageBufferBindingSize, the exporter's default part limit.
  const MiB128 = 134_217_728;

  it('every weight buffer of every 8B variant is at most 128 MiB; the largest is a row part of the embedding table', () => {
    // config.json: vocab 102400, hidden 4096. The f16 table (839 MB) in parts of ⌊128 MiB / (4096 × 2 B)⌋ = 16384 rows.
    expect(real8bWeights('q4f16').largestWeight).toEqual({ name: 'llm.model.embed_tokens.weight.part0', sizeBytes: 16384 * 4096 * 2 });
    expect(index.variants.every((v) => v.largestWeight.sizeBytes === MiB128)).toBe(true);
    for (const precision of ['fp32', 'q4f32', 'q4f16'] as const) {
      const plan = planWeights(real8bSpec(), precision);
      const entries = plan.flatMap(plannedEntries);
      expect(Math.max(...entries.map((e) => e.sizeBytes)), precision).toBeLessThanOrEqual(MiB128);
      // Cutting moves no bytes: the parts add up to the whole weights (config dims × element bytes).
      const t = real8bSpec().text;
      const lm = plan.find((w) => w.name === WEIGHTS.lmHead)!;
      expect(lm.rowParts.reduce((a, b) => a + b, 0)).toBe(t.vocabSize);
      const lmBytes = plannedEntries(lm).reduce((n, e) => n + e.sizeBytes, 0);
      expect(lmBytes, precision).toBe(precision === 'fp32' ? t.vocabSize * t.hiddenSize * 4 : t.vocabSize * t.hiddenSize * (0.5 + (precision === 'q4f32' ? 4 : 2) / 32));
    }
    // The int4 lm_head's codes (102400 × 2048 B = 210 MB): parts of 65536 rows (128 MiB) and the remaining 36864.
    expect(planWeights(real8bSpec(), 'q4f16').find((w) => w.name === WEIGHTS.lmHead)!.rowParts).toEqual([65536, 36864]);
  });

  it('shader-f16: q4f16, the fastest, at the model\'s full context within the default 8 GiB; a smaller budget gets the largest context that fits', () => {
    const c = chooseVariant(index, desktop);
    expect(c.precision).toBe('q4f16');
    expect(c.reason).toBe('q4f16: the fastest of the offered variants (q4f32, q4f16)');
    expect(c.memoryBudget.bytes).toBe(8 * GiB);
    // max_position_embeddings 4096 (config.json); f16 KV: 2 × 32 layers × 32 KV heads × 128 × 2 bytes per token.
    expect(c.contextTokens).toBe(4096);
    expect(c.memoryEstimate.kvCacheBytes).toBe(4096 * 2 * 32 * 32 * 128 * 2);
    expect(c.memoryEstimate.totalBytes).toBeLessThanOrEqual(8 * GiB);
    const smaller = chooseVariant(index, desktop, { memoryBudgetBytes: 7 * GiB });
    expect(smaller.contextTokens).toBeLessThan(4096);
    expect(smaller.memoryEstimate.totalBytes).toBeLessThanOrEqual(7 * GiB);
    // The next token would not fit: it adds at least its f16 KV rows.
    expect(smaller.memoryEstimate.totalBytes + 2 * 32 * 32 * 128 * 2).toBeGreaterThan(7 * GiB);
  });

  it('no shader-f16: q4f32, with the reason; at the default budget it does not fit at all, with every variant\'s reason', () => {
    const c = chooseVariant(index, noF16, { memoryBudgetBytes: 16 * GiB });
    expect(c.precision).toBe('q4f32');
    expect(c.reason).toBe('q4f32: the adapter has no shader-f16, so not q4f16');
    expect(c.contextTokens).toBe(4096);
    expect(c.memoryEstimate.kvCacheBytes).toBe(4 * GiB);
    expect(() => chooseVariant(index, noF16)).toThrow(
      expect.objectContaining({
        code: 'out-of-memory',
        message: expect.stringMatching(/No variant.*shader-f16.*q4f32 needs an estimated .* GiB .* at 256 context tokens.*memoryBudgetBytes/),
        details: expect.objectContaining({ variants: ['q4f16', 'q4f32'], budgetBytes: 8 * GiB }),
      }),
    );
  });

  it('128 MiB bindings (lavapipe, the WebGPU default): the 8B q4f16 fits, weights in row parts, at its full context', () => {
    const c = chooseVariant(index, smallBindings, { memoryBudgetBytes: 16 * GiB });
    expect(c.precision).toBe('q4f16');
    // A KV layer buffer at 4096 tokens: 32 KV heads × 128 × 2 bytes × 4096 = 32 MiB, within the binding.
    expect(c.contextTokens).toBe(4096);
  });

  it('128 MiB bindings and a package of whole weights (exporter 0.2.0): gpu-limits-too-low naming the table, its size, the limit and the re-export', () => {
    // What a format-2 package's index says: the whole f16 table (102400 × 4096 × 2 bytes) is its largest weight.
    const old = { ...index, variants: index.variants.map((v) => ({ ...v, largestWeight: { name: 'llm.model.embed_tokens.weight', sizeBytes: 102400 * 4096 * 2 } })) };
    expect(() => chooseVariant(old, smallBindings, { memoryBudgetBytes: 16 * GiB })).toThrow(
      expect.objectContaining({
        code: 'gpu-limits-too-low',
        message: expect.stringMatching(/llm\.model\.embed_tokens\.weight is 838860800 bytes.*--max-weight-part-mb 128/),
        details: expect.objectContaining({ weight: 'llm.model.embed_tokens.weight', sizeBytes: 838_860_800, limitBytes: 2 ** 27 }),
      }),
    );
  });

  it('a forced variant: used when it runs, else a typed error (absent: invalid-request; no shader-f16: gpu-feature-missing)', () => {
    expect(chooseVariant(index, desktop, { precision: 'q4f32', memoryBudgetBytes: 16 * GiB })).toMatchObject({ precision: 'q4f32', reason: 'q4f32: requested' });
    expect(() => chooseVariant(index, noF16, { precision: 'q4f16' })).toThrow(expect.objectContaining({ code: 'gpu-feature-missing' }));
    expect(() => chooseVariant(index, desktop, { precision: 'fp32' })).toThrow(expect.objectContaining({ code: 'invalid-request', details: expect.objectContaining({ available: ['q4f32', 'q4f16'] }) }));
  });

  it('a requested context over the budget: out-of-memory naming the largest that fits, which then loads', () => {
    const budget = 10 * GiB;
    let largest = 0;
    try {
      chooseVariant(index, noF16, { contextTokens: 4096, memoryBudgetBytes: budget });
    } catch (e) {
      expect(e).toMatchObject({ code: 'out-of-memory', message: expect.stringContaining('lower contextTokens to at most') });
      largest = (e as { details: { maxFittingTokens: number } }).details.maxFittingTokens;
    }
    // 10 GiB − 7.32 GiB of q4f32 weights leaves under 2.7 GiB, at 1 MiB of f32 KV per token.
    expect(largest).toBeGreaterThan(1024);
    expect(largest).toBeLessThan(2.7 * 1024);
    expect(chooseVariant(index, noF16, { contextTokens: largest, memoryBudgetBytes: budget }).contextTokens).toBe(largest);
  });

  it('a small device (navigator.deviceMemory 4 → a 2 GiB budget): out-of-memory, saying where the budget came from', () => {
    expect(() => chooseVariant(index, desktop, { deviceMemoryGiB: 4 })).toThrow(expect.objectContaining({ code: 'out-of-memory', message: expect.stringContaining('navigator.deviceMemory') }));
  });

  it('the estimate at the chosen context is estimateMemory of the variant\'s weights at the pixel budget', () => {
    const c = chooseVariant(index, desktop, { maxPixels: 448 * 448 });
    const q4f16 = index.variants.find((v) => v.precision === 'q4f16')!;
    expect(c.memoryEstimate.weightsBytes).toBe(q4f16.weightBytes);
    expect(c.memoryEstimate).toEqual(estimateMemory({ model: index.model, dtypes: precisionDtypes('q4f16'), weightBytes: q4f16.weightBytes, maxPixels: 448 * 448, prefillChunkTokens: 512 }, c.contextTokens));
  });
});
