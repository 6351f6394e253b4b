/**
 * The memory estimate against numbers from outside it: the KV cache of the real 8B from its config.json (32 layers,
 * 32 KV heads × 128, shared/reference/sarashina2-vision-real-files.md §1.1), the GPU allocations the H200 bench
 * counted for the 8B (bench/results/model-8b-h200-kernels-run5.json), and the allocations counted here on this
 * adapter for the tiny model (ORT's included: src/testing/gpu-tracker.ts).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../../export/package/export-package';
import { NodeDirSource } from '../loader/node-dir-source';
import { readManifest } from '../protocol/package-source';
import { precisionDtypes } from '../protocol/precision-dtypes';
import { preprocessImages } from '../processor/image/preprocess-images';
import { trackGpu } from '../testing/gpu-tracker';
import { testGpuContext } from '../testing/node-gpu';
import { real8bSpec, real8bWeights } from '../testing/real-8b';
import { DEFAULT_MEMORY_BUDGET_BYTES, estimateMemory, kvCacheBytes, largestContextWithin, memoryBudget } from './memory-estimate';
import { planPackage } from './package-plan';
import { SarashinaModel } from './sarashina-model';

const GiB = 2 ** 30;

describe('the 8B, from its real config.json', () => {
  const spec = real8bSpec();

  it('KV cache: 2 (K, V) × 32 layers × 32 KV heads × 128 dims per token — 1 MiB in f32, half in f16', () => {
    const perToken = 2 * 32 * 32 * 128;
    expect(kvCacheBytes(spec, 4, 1)).toBe(perToken * 4);
    expect(kvCacheBytes(spec, 4, 4096)).toBe(4 * GiB);
    expect(kvCacheBytes(spec, 2, 4096)).toBe(2 * GiB);
    // BENCH.md: "the KV cache for 3,572 positions 3.49 GiB" (q4f32 on the H200).
    expect(kvCacheBytes(spec, 4, 3572) / GiB).toBeCloseTo(3.49, 2);
  });

  it('the exporter plans the q4f32 weight bytes the H200 bench package had', async () => {
    const bench = JSON.parse(await readFile('bench/results/model-8b-h200-kernels-run5.json', 'utf8')) as { package: { weightBytes: number } };
    expect(real8bWeights('q4f32').weightBytes).toBe(bench.package.weightBytes);
  });

  it('covers what the H200 bench allocated at its peak (weights, KV for 3,572 positions, ORT, a 12288-patch image) within 1 %', async () => {
    const bench = JSON.parse(await readFile('bench/results/model-8b-h200-kernels-run5.json', 'utf8')) as {
      package: { weightBytes: number };
      settings: { contexts: number[]; decodeTokens: number };
      results: { gpuPeakBytes: number }[];
    };
    // model.bench.ts: context = the longest prompt + decode tokens + 8; the encoded image 1344×1792 (12288 patches); runs of 512 on the H200.
    const context = Math.max(...bench.settings.contexts) + bench.settings.decodeTokens + 8;
    expect(context).toBe(3572);
    const peak = bench.results[0]?.gpuPeakBytes ?? 0;
    const e = estimateMemory({ model: spec, dtypes: precisionDtypes('q4f32'), weightBytes: bench.package.weightBytes, maxPixels: 1344 * 1792, prefillChunkTokens: 512 }, context);
    expect(e.totalBytes).toBe(e.weightsBytes + e.kvCacheBytes + e.activationsBytes);
    expect(e.totalBytes).toBeGreaterThanOrEqual(peak);
    expect(e.totalBytes).toBeLessThan(peak * 1.01);
  });

  it('the largest context within a budget is the last one whose estimate fits', () => {
    const input = { model: spec, dtypes: precisionDtypes('q4f16'), weightBytes: real8bWeights('q4f16').weightBytes, maxPixels: 1003520, prefillChunkTokens: 512 };
    const budget = input.weightBytes + GiB;
    const n = largestContextWithin(input, budget, 4096);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(4096);
    expect(estimateMemory(input, n).totalBytes).toBeLessThanOrEqual(budget);
    expect(estimateMemory(input, n + 1).totalBytes).toBeGreaterThan(budget);
    // f16 KV: 0.5 MiB per token, so one more GiB of budget holds at most 2048 more tokens (RoPE tables and ids take a little).
    const more = largestContextWithin(input, budget + GiB, 8192) - n;
    expect(more).toBeLessThanOrEqual(2048);
    expect(more).toBeGreaterThan(2000);
    expect(largestContextWithin(input, input.weightBytes, 4096)).toBe(0);
  });
});

describe('memoryBudget', () => {
  it('the option, else half of a navigator.deviceMemory below 8 GiB, else 8 GiB', () => {
    expect(memoryBudget({ memoryBudgetBytes: 3 * GiB }).bytes).toBe(3 * GiB);
    expect(memoryBudget({ memoryBudgetBytes: 3 * GiB, deviceMemoryGiB: 2 }).bytes).toBe(3 * GiB);
    expect(memoryBudget({ deviceMemoryGiB: 4 })).toMatchObject({ bytes: 2 * GiB, reason: expect.stringContaining('navigator.deviceMemory') });
    // deviceMemory is capped at 8: "8" means 8 GiB or more, so it says nothing below the default.
    expect(memoryBudget({ deviceMemoryGiB: 8 }).bytes).toBe(DEFAULT_MEMORY_BUDGET_BYTES);
    expect(memoryBudget({ deviceMemoryGiB: null })).toMatchObject({ bytes: 8 * GiB, reason: expect.stringContaining('WebGPU reports no') });
  });

  it('a budget that is not a positive integer is invalid-request', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => memoryBudget({ memoryBudgetBytes: bad })).toThrow(expect.objectContaining({ code: 'invalid-request' }));
  });
});

describe('on this adapter: the tiny model', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'memory-estimate-'));
    await exportPackage('export/reference/fixtures/tiny/checkpoint', join(dir, 'q4f32'), { precision: 'q4f32' });
  }, 60_000);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('the plan\'s estimate covers the allocations counted for load, a prefill and one image at the pixel budget (within 15 %)', async () => {
    const ctx = await testGpuContext();
    const source = new NodeDirSource(join(dir, 'q4f32'));
    const manifest = await readManifest(source);
    // A small pixel budget and prompt keep SwiftShader quick; the image is exactly the budget: the most patches one image has.
    const side = 224;
    const plan = planPackage(manifest, ctx.capabilities, { contextTokens: 1024, maxPixels: side * side });
    const tracker = trackGpu(ctx.device);
    const base = tracker.liveBytes();
    try {
      const model = await SarashinaModel.load(ctx, source, plan);
      await model.prefill(Int32Array.from({ length: 3 * plan.prefillChunkTokens + 5 }, (_, i) => 20 + i), 0, []);
      const pixels = preprocessImages([{ width: side, height: side, channels: 3, bitDepth: 8, data: new Uint8Array(side * side * 3).fill(90) }], manifest.imageProcessor, { maxPixels: side * side });
      (await model.encodeImages(pixels)).release();
      await ctx.device.queue.onSubmittedWorkDone();
      const peak = tracker.peakBytes() - base;
      expect(plan.memoryEstimate.totalBytes).toBeGreaterThanOrEqual(peak);
      expect(plan.memoryEstimate.totalBytes).toBeLessThan(peak * 1.15);
      await model.dispose();
    } finally {
      tracker.restore();
    }
  }, 120_000);
});
