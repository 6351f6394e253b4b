/**
 * SarashinaModel's GPU resources: dispose() frees every buffer the model created (weights, cache, ORT
 * sessions' buffers included); a decode step creates no buffers or bind groups; loading honours
 * contextTokens and reports progress; bad options fail with SarashinaError before any GPU work; a package of the
 * previous exporter (manifest format 1) still loads and encodes images.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadModel } from '../testing/load-model';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../../export/package/export-package';
import { createStorageBuffer, readBuffer } from '../gpu/gpu-buffers';
import { NodeDirSource } from '../loader/node-dir-source';
import type { LoadProgress } from '../protocol/api';
import { compareArrays } from '../testing/compare';
import { trackGpu } from '../testing/gpu-tracker';
import { testAdapter, testGpuContext } from '../testing/node-gpu';
import { loadCase } from '../testing/package-runner';

const CHECKPOINT = 'export/reference/fixtures/tiny/checkpoint';
/** The manifest exporter 0.1.0 wrote for CHECKPOINT in fp32 (see src/protocol/manifest.test.ts). */
const FORMAT_1_MANIFEST = 'src/protocol/fixtures/manifest-format-1.json';

describe('SarashinaModel resources', () => {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sarashina-resources-'));
    dir = join(root, 'q4f32');
    await exportPackage(CHECKPOINT, dir, { precision: 'q4f32' });
  }, 60_000);
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('dispose() frees every buffer the model created; decode steps create no buffers or bind groups', async () => {
    const ctx = await testGpuContext();
    const tracker = trackGpu(ctx.device);
    const progress: LoadProgress[] = [];
    try {
      const model = await loadModel(ctx, new NodeDirSource(dir), { contextTokens: 64, onProgress: (p) => progress.push(p) });
      expect(model.contextTokens).toBe(64);
      expect(model.decodePath).toBe('kernels');
      const upload = progress.filter((p) => p.phase === 'upload');
      expect(upload.at(-1)?.loadedBytes).toBe(upload.at(-1)?.totalBytes);
      const token = createStorageBuffer(ctx.device, 'test.token', 16);
      ctx.device.queue.writeBuffer(token, 0, new Uint32Array([5]));
      await model.prefill(new Int32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]), 0, []);
      await model.decode(token, 20); // warm-up
      const before = { ...tracker.created };
      for (let p = 21; p < 25; p++) await model.decode(token, p);
      expect(tracker.created).toEqual(before);
      token.destroy();
      // Weights, cache, rope tables, activations: all tracked (so the check below can fail).
      expect(tracker.live.size).toBeGreaterThan(Object.keys(model.manifest.weights).length + 2 * model.spec.text.numLayers);
      await model.dispose();
      await ctx.device.queue.onSubmittedWorkDone();
      expect([...tracker.live].map((b) => b.label)).toEqual([]);
      expect(tracker.liveBytes()).toBe(0);
      expect(tracker.peakBytes()).toBeGreaterThan(model.manifest.shards.reduce((n, s) => n + s.sizeBytes, 0));
    } finally {
      tracker.restore();
    }
  });

  it('rejects contextTokens beyond the model and an aborted load with SarashinaError', async () => {
    const ctx = await testGpuContext();
    await expect(loadModel(ctx, new NodeDirSource(dir), { contextTokens: 1_000_000 })).rejects.toMatchObject({ code: 'invalid-request' });
    const aborted = new AbortController();
    aborted.abort();
    await expect(loadModel(ctx, new NodeDirSource(dir), { signal: aborted.signal })).rejects.toMatchObject({ code: 'aborted' });
  });

  // SwiftShader's vkAllocateMemory refuses an allocation of 1 GiB (Dawn's buffer plus its padding) with
  // VK_ERROR_OUT_OF_DEVICE_MEMORY although its maxBufferSize is 1 GiB (1 GiB - 256 bytes is allocated): a real device
  // running out of memory in the middle of a load, after the weights and ORT sessions exist. The tiny model with a longer
  // max_position_embeddings asks for KV-cache buffers of exactly 1 GiB (4 KV heads × 16 dims × 4 bytes × 2^22 tokens).
  it.runIf(testAdapter() === 'swiftshader')('the device running out of memory during load: out-of-memory, every buffer freed, a smaller context loads', async () => {
    const longCheckpoint = join(root, 'long-context-checkpoint');
    await cp(CHECKPOINT, longCheckpoint, { recursive: true });
    const configPath = join(longCheckpoint, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { text_config: { max_position_embeddings: number } };
    config.text_config.max_position_embeddings = 2 ** 22;
    await writeFile(configPath, JSON.stringify(config));
    const longDir = join(root, 'long-context-fp32');
    await exportPackage(longCheckpoint, longDir, { precision: 'fp32' });
    const ctx = await testGpuContext();
    expect(ctx.capabilities.maxBufferSize).toBeGreaterThanOrEqual(2 ** 30);
    const tracker = trackGpu(ctx.device);
    try {
      const failed = loadModel(ctx, new NodeDirSource(longDir), { contextTokens: 2 ** 22 });
      await expect(failed).rejects.toMatchObject({ code: 'out-of-memory', details: { contextTokens: 2 ** 22 } });
      await expect(failed).rejects.toThrow(/could not allocate the KV cache for 4194304 tokens .*Lower contextTokens/s);
      // The weights were on the GPU when the cache failed (so the check below can fail), and nothing is left.
      expect(tracker.peakBytes()).toBeGreaterThan(1e6);
      await ctx.device.queue.onSubmittedWorkDone();
      expect([...tracker.live].map((b) => b.label)).toEqual([]);
      const model = await loadModel(ctx, new NodeDirSource(longDir), { contextTokens: 256 });
      expect(model.contextTokens).toBe(256);
      await model.dispose();
    } finally {
      tracker.restore();
    }
  });

  it('a q4f16 package: gpu-feature-missing without shader-f16, else it loads with our decode kernels', async () => {
    const ctx = await testGpuContext();
    const q4f16 = join(root, 'q4f16');
    await exportPackage(CHECKPOINT, q4f16, { precision: 'q4f16' });
    if (!ctx.capabilities.shaderF16) {
      await expect(loadModel(ctx, new NodeDirSource(q4f16))).rejects.toMatchObject({ code: 'gpu-feature-missing' });
      return;
    }
    const tracker = trackGpu(ctx.device);
    try {
      const model = await loadModel(ctx, new NodeDirSource(q4f16), { contextTokens: 64 });
      expect(model.decodePath).toBe('kernels');
      const token = createStorageBuffer(ctx.device, 'test.token', 16);
      await model.prefill(new Int32Array([1, 2, 3, 4, 5]), 0, []);
      await model.decode(token, 5);
      token.destroy();
      // The step's own f32 RoPE tables and the norm widening's temporaries are freed too.
      await model.dispose();
      await ctx.device.queue.onSubmittedWorkDone();
      expect(tracker.liveBytes()).toBe(0);
    } finally {
      tracker.restore();
    }
  });

  it('a package written by exporter 0.1.0 (manifest format 1) loads; both vision paths give the Hugging Face features', async () => {
    const ctx = await testGpuContext();
    const old = join(root, 'format-1');
    await exportPackage(CHECKPOINT, old, { precision: 'fp32' });
    const manifest = await readFile(FORMAT_1_MANIFEST, 'utf8');
    // Same checkpoint and weights: this exporter's shard is byte for byte the one the old manifest lists.
    const [shard] = (JSON.parse(manifest) as { shards: { path: string; sha256: string }[] }).shards;
    expect(createHash('sha256').update(await readFile(join(old, shard!.path))).digest('hex')).toBe(shard!.sha256);
    await writeFile(join(old, 'manifest.json'), manifest);
    const { c, pixels, features } = await loadCase('export/reference/fixtures/tiny', 'two-images-en');
    for (const visionPath of ['kernels', 'ort-baseline'] as const) {
      const model = await loadModel(ctx, new NodeDirSource(old), { contextTokens: 64, visionPath });
      try {
        const out = await model.encodeImages({ pixelValues: pixels!, grids: c.grids.map(([t, h, w]) => ({ t, h, w })) });
        const got = new Float32Array(await readBuffer(ctx.device, out.buffer, out.rows * model.spec.text.hiddenSize * 4));
        out.release();
        const stats = compareArrays(got, features!);
        expect(stats.maxRel, `${visionPath}: ${JSON.stringify(stats)}`).toBeLessThan(1e-4);
      } finally {
        await model.dispose();
      }
    }
  });
});
