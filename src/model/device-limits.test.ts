/**
 * The buffer limits the engine requests, on the real 8B (its config.json and the exporter's plan with the default part
 * limit) and on small models. Expected numbers come from config.json's dimensions and WebGPU's default limits
 * (https://www.w3.org/TR/webgpu/#limit-default: 128 MiB per storage binding, 256 MiB per buffer).
 */
import { describe, expect, it } from 'vitest';
import { real8bIndex, real8bSpec } from '../testing/real-8b';
import { bufferLimitsFor, largestPlannedBufferBytes } from './device-limits';
import { chooseVariant } from './package-plan';

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
});
