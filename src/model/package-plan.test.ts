/**
 * planPackage on packages exported from the tiny Hugging Face fixture checkpoint. Expected values come from the
 * checkpoint's config.json and from the documented rules (q4f16 needs shader-f16; the KV cache of fp32/q4f32
 * is f32, of q4f16 f16; SwiftShader prefills 16 tokens per run; the vision kernels compute in f16 only on f16
 * storage with shader-f16), never from the code under test.
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
import { chooseVisionArithmetic, planPackage } from './package-plan';

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
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 30,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
};

describe('planPackage', () => {
  let dir: string;
  const manifests: Record<string, PackageManifest> = {};
  let config: { text_config: { max_position_embeddings: number; num_hidden_layers: number } };
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

  it('q4f16 with shader-f16: f16 activations and a half-size KV element; decode through ORT, with the reason', () => {
    const plan = planPackage(manifests.q4f16!, desktop, { contextTokens: 64 });
    expect(plan.dtypes.activation).toBe('float16');
    expect(plan.kvElementBytes).toBe(2);
    expect(plan.contextTokens).toBe(64);
    expect(plan.decodePath).toBe('ort-baseline');
    expect(plan.decodePathReason).toMatch(/f16/);
  });

  it('a software adapter prefills in runs of 16 (onnxruntime-web GQA exactness, ARCHITECTURE.md), never more than the context', () => {
    const fallback = { ...desktop, isFallbackAdapter: true, subgroupMinSize: 4 };
    expect(planPackage(manifests.fp32!, fallback).prefillChunkTokens).toBe(16);
    expect(planPackage(manifests.fp32!, desktop, { contextTokens: 8 }).prefillChunkTokens).toBe(8);
  });

  it('vision arithmetic: f16 for q4f16 (f16 vision storage) with shader-f16, f32 for f32 storage on any adapter', () => {
    expect(planPackage(manifests.q4f16!, desktop).visionArithmetic).toBe('f16');
    expect(planPackage(manifests.fp32!, desktop).visionArithmetic).toBe('f32');
    expect(planPackage(manifests.fp32!, { ...desktop, shaderF16: false }).visionArithmetic).toBe('f32');
    // The rule itself, including the pair no plan reaches today (q4f16 already needs shader-f16).
    expect(chooseVisionArithmetic('float16', { shaderF16: true })).toBe('f16');
    expect(chooseVisionArithmetic('float16', { shaderF16: false })).toBe('f32');
    expect(chooseVisionArithmetic('float32', { shaderF16: true })).toBe('f32');
    expect(chooseVisionArithmetic('float32', { shaderF16: false })).toBe('f32');
  });

  it('refuses a context beyond max_position_embeddings with invalid-request', () => {
    const tooLong = config.text_config.max_position_embeddings + 1;
    expect(() => planPackage(manifests.fp32!, desktop, { contextTokens: tooLong })).toThrow(expect.objectContaining({ code: 'invalid-request' }));
  });
});
