/**
 * The buffer limits the engine requests, on the real 8B (its config.json and the exporter's plan with the default part
 * limit) and on small models. Expected numbers come from config.json's dimensions and WebGPU's default limits
 * (https://www.w3.org/TR/webgpu/#limit-default: 128 MiB per storage binding, 256 MiB per buffer).
 */
import { describe, expect, it } from 'vitest';
import { QWEN2_VL_IMAGE_DEFAULTS } from '../protocol/model-spec';
import { real8bIndex, real8bSpec } from '../testing/real-8b';
import { bufferLimitsFor, largestPlannedBufferBytes } from './device-limits';
import { chooseVariant } from './package-plan';
import { planImage } from '../processor/image/preprocess-images';
import { visionMaxPixels } from './vision-encoder';

const MiB = 2 ** 20;
const desktop = { shaderF16: true, maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31, subgroupMinSize: 32, isFallbackAdapter: false };

describe('the device limits a plan needs', () => {
  it('8B q4f16 at 4096 tokens: its widest buffer is the vision MLP of a context full of image patches, not a weight', () => {
    const index = real8bIndex(['q4f16']);
    const choice = chooseVariant(index, desktop);
    expect(choice.contextTokens).toBe(4096);
    const spec = real8bSpec();
    const input = { model: spec, largestWeightBytes: choice.entry.largestWeight.sizeBytes, contextTokens: 4096, kvElementBytes: 2, activationBytes: 2, prefillChunkTokens: 512 };
    // config.json: 4096 image tokens = 4 · 4096 patches, the MLP [N, 1280 · mlp_ratio 4] in f32.
    expect(largestPlannedBufferBytes(input)).toBe(4 * 4096 * 5120 * 4);
    expect(bufferLimitsFor(largestPlannedBufferBytes(input), desktop)).toEqual({ maxStorageBufferBindingSize: 320 * MiB, maxBufferSize: 320 * MiB });
    // At 1024 tokens the largest is the 128 MiB embedding-table part (its KV layer buffer: 1024 · 32 · 128 · 2 = 8 MiB).
    expect(largestPlannedBufferBytes({ ...input, contextTokens: 1024 })).toBe(128 * MiB);
  });

  it('never below WebGPU\'s defaults, never above the adapter', () => {
    expect(bufferLimitsFor(1000, desktop)).toEqual({ maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB });
    const lavapipe = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 2 ** 31 };
    // Clamped to the adapter's binding; no buffer is larger than its binding, so the buffer limit stays the default.
    expect(bufferLimitsFor(320 * MiB, lavapipe)).toEqual({ maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB });
  });

  it('on a 128 MiB binding the 8B tower holds 6553 patches: a 1344×1792 photo is resized within that, not refused', () => {
    const spec = real8bSpec();
    // config.json: vision MLP 1280 · mlp_ratio 4 = 5120 f32 per patch is the widest row; patches of 14 × 14 pixels.
    const patches = Math.floor((128 * MiB) / (5120 * 4));
    expect(patches).toBe(6553);
    const budget = visionMaxPixels(spec.vision, 128 * MiB);
    expect(budget).toBe(patches * 14 * 14);
    // A package whose processor allows 2408448 pixels (the H200 bench's): the binding, not the processor, decides.
    const image = { ...QWEN2_VL_IMAGE_DEFAULTS, maxPixels: 2408448 };
    const plan = planImage(1792, 1344, image, { maxPixels: Math.min(image.maxPixels, budget) });
    expect(plan.grid.h * plan.grid.w).toBeLessThanOrEqual(patches);
    expect(plan.grid.h * plan.grid.w).toBeGreaterThan(0.9 * patches);
    // Qwen2-VL's default budget (28 · 28 · 1280 = 1003520 pixels) is within it; a desktop adapter's 2 GiB binding
    // holds 104857 patches.
    expect(budget).toBeGreaterThan(QWEN2_VL_IMAGE_DEFAULTS.maxPixels);
    expect(visionMaxPixels(spec.vision, 2 ** 31)).toBe(104857 * 14 * 14);
  });
});
