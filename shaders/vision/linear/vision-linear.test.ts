import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { fromStorage, storageElementBytes, toStorage } from '../storage-test-data';
import {
  chooseVisionLinearTiling,
  encodeVisionLinear,
  VISION_LINEAR_CHOICES,
  VISION_LINEAR_LARGE,
  VISION_LINEAR_MEDIUM,
  VISION_LINEAR_SMALL,
  type VisionLinearEpilogue,
  type VisionLinearTiling,
  type VisionStorage,
  visionLinearTilingFits,
} from './vision-linear';
import { visionLinearReference } from './vision-linear-reference';

// f32 dot products of ≤ 100 terms of O(1) values: ~1e-6; erf's approximation adds ≤ 1.5e-7 · |x|.
const MAX_ABS = 2e-5;
// f16 output rounding (2^-11 relative) on values up to ~10.
const MAX_ABS_F16 = 1e-2;

let kernels: KernelCache | undefined;

interface Case {
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly epilogue: VisionLinearEpilogue;
  readonly bias?: boolean;
  readonly tiling: VisionLinearTiling;
  readonly storage?: VisionStorage;
  readonly scale?: number;
}

async function run(c: Case): Promise<{ got: Float32Array; want: Float64Array }> {
  const { device } = await testGpuContext();
  kernels ??= new KernelCache(device);
  const storage = c.storage ?? 'f32';
  const s = c.scale ?? 1;
  const shape = { rows: c.rows, inDim: c.inDim, outDim: c.outDim };
  const x = randomFloats(c.rows * c.inDim, 1).map((v) => v * s);
  const w = randomFloats(c.outDim * c.inDim, 2).map((v) => v * 0.5);
  const bias = c.bias === false ? undefined : randomFloats(c.outDim, 3);
  const residual = randomFloats(c.rows * c.outDim, 4);
  const store = (label: string, data: Float32Array): GPUBuffer => uploadBuffer(device, label, toStorage(data, storage));
  const buffers = { x: store('x', x), weight: store('w', w), ...(bias ? { bias: store('bias', bias) } : {}), y: store('y', residual) };
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const dispatch = encodeVisionLinear(kernels, pass, buffers, shape, { epilogue: c.epilogue, tiling: c.tiling, storage });
  pass.end();
  device.queue.submit([encoder.finish()]);
  dispatch?.destroy();
  const got = fromStorage(await readBuffer(device, buffers.y, c.rows * c.outDim * storageElementBytes(storage)), storage);
  for (const b of Object.values(buffers)) b.destroy();
  return { got, want: visionLinearReference(x, w, bias, residual, shape, c.epilogue) };
}

describe('vision-linear (y = epilogue(x·Wᵀ + b), SwiftShader vs plain TS)', () => {
  it('matches on shapes that are not multiples of the block, for every epilogue and the chooser tilings', async () => {
    const cases: Case[] = [
      { rows: 37, inDim: 44, outDim: 52, epilogue: 'none', tiling: VISION_LINEAR_SMALL },
      { rows: 37, inDim: 44, outDim: 52, epilogue: 'none', bias: false, tiling: VISION_LINEAR_SMALL },
      { rows: 70, inDim: 20, outDim: 36, epilogue: 'quick-gelu', tiling: VISION_LINEAR_MEDIUM, scale: 3 },
      { rows: 9, inDim: 100, outDim: 12, epilogue: 'gelu', tiling: VISION_LINEAR_SMALL, scale: 3 },
      { rows: 33, inDim: 36, outDim: 68, epilogue: 'residual', tiling: VISION_LINEAR_MEDIUM },
      { rows: 1, inDim: 4, outDim: 4, epilogue: 'residual', tiling: VISION_LINEAR_SMALL },
      // The large block (64 × 128 of 8 × 8), partly filled, k not a multiple of its tile.
      { rows: 130, inDim: 20, outDim: 132, epilogue: 'none', tiling: VISION_LINEAR_LARGE },
      { rows: 67, inDim: 36, outDim: 68, epilogue: 'gelu', tiling: VISION_LINEAR_MEDIUM },
    ];
    for (const c of cases) {
      const { got, want } = await run(c);
      expect(compareArrays(got, want).maxAbs, JSON.stringify(c)).toBeLessThan(MAX_ABS);
    }
  });

  it('stores f16 activations and weights (packed pairs), computing in f32', async () => {
    const cases: Case[] = [
      { rows: 21, inDim: 28, outDim: 40, epilogue: 'residual', tiling: VISION_LINEAR_SMALL, storage: 'f16' },
      { rows: 70, inDim: 36, outDim: 132, epilogue: 'quick-gelu', bias: false, tiling: VISION_LINEAR_LARGE, storage: 'f16' },
    ];
    for (const c of cases) {
      const { got, want } = await run(c);
      expect(compareArrays(got, want).maxAbs, JSON.stringify(c)).toBeLessThan(MAX_ABS_F16);
    }
  });

  it('chooses the largest block that fits the workgroup limits', () => {
    const big = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupsPerDimension: 65535 };
    const small = { ...big, maxComputeWorkgroupStorageSize: 4096, maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeX: 64, maxComputeWorkgroupSizeY: 64 };
    expect(VISION_LINEAR_CHOICES.every((t) => visionLinearTilingFits(t, big))).toBe(true);
    expect(chooseVisionLinearTiling({ rows: 12288, inDim: 1280, outDim: 5120 }, big)).toBe(VISION_LINEAR_LARGE);
    expect(chooseVisionLinearTiling({ rows: 1024, inDim: 1280, outDim: 1280 }, { ...big, maxComputeWorkgroupStorageSize: 8192 })).toBe(VISION_LINEAR_MEDIUM);
    expect(chooseVisionLinearTiling({ rows: 12288, inDim: 1280, outDim: 5120 }, small)).toBe(VISION_LINEAR_SMALL);
    expect(visionLinearTilingFits(VISION_LINEAR_SMALL, small)).toBe(true);
    expect(() => chooseVisionLinearTiling({ rows: 64, inDim: 64, outDim: 64 }, { ...small, maxComputeWorkgroupStorageSize: 256 })).toThrow(/No vision-linear tiling fits/);
  });

  it('rejects dimensions that are not multiples of 4 and undersized buffers; records nothing for zero rows', async () => {
    const { device } = await testGpuContext();
    kernels ??= new KernelCache(device);
    const b = createStorageBuffer(device, 'b', 256);
    const pass = device.createCommandEncoder().beginComputePass();
    expect(() => encodeVisionLinear(kernels!, pass, { x: b, weight: b, y: b }, { rows: 2, inDim: 6, outDim: 4 })).toThrow(/multiples of 4/);
    expect(() => encodeVisionLinear(kernels!, pass, { x: b, weight: b, y: b }, { rows: 64, inDim: 8, outDim: 8 })).toThrow(/buffer x holds 256 bytes but \[64, 8\] → 8 needs 2048/);
    expect(encodeVisionLinear(kernels!, pass, { x: b, weight: b, y: b }, { rows: 0, inDim: 8, outDim: 8 })).toBeNull();
    pass.end();
    b.destroy();
  });
});
