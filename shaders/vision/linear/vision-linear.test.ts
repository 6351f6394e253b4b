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
  visionLinearTilingFits,
} from './vision-linear';
import type { VisionArithmetic, VisionStorage } from '../vision-numerics';
import { visionLinearReference } from './vision-linear-reference';

// f32 dot products of ≤ 100 terms of O(1) values: ~1e-6; erf's approximation adds ≤ 1.5e-7 · |x|.
const MAX_ABS = 2e-5;
// f16 output rounding (2^-11 relative) on values up to ~10.
const MAX_ABS_F16 = 1e-2;
/** f16's unit roundoff: round-to-nearest to 11 significant bits is off by at most 2^-11 relative. */
const U16 = 2 ** -11;
// f16 arithmetic, statistically (random-sign data): each k tile's f16 sum of 16 products is off by ≈ 7·u·σ (σ: one
// product's spread) in RMS, i.e. ≈ 1.75·u of the output's RMS over K/16 tiles, plus u/√3 for the output rounding:
// NMSE ≈ (2u)². (4u)² leaves 2× in RMS; one unsplit f16 sum over K = 1280 would give ≈ (15u)².
const NMSE_F16_ARITHMETIC = (4 * U16) ** 2;
// Largest slope of the epilogues (GELU' ≤ 1.129, QuickGELU' ≤ 1.100): how much they can amplify an error.
const EPILOGUE_SLOPE = 1.13;

const shaderF16 = (await testGpuContext()).capabilities.shaderF16;

let kernels: KernelCache | undefined;

interface Case {
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly epilogue: VisionLinearEpilogue;
  readonly bias?: boolean;
  readonly tiling: VisionLinearTiling;
  readonly storage?: VisionStorage;
  readonly arithmetic?: VisionArithmetic;
  readonly scale?: number;
}

/** The kernel's output, the f64 reference, and Σ_k |x_k·w_k| per output (what rounding errors of the sum scale with). */
async function run(c: Case): Promise<{ got: Float32Array; want: Float64Array; sumAbs: Float64Array }> {
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
  const dispatch = encodeVisionLinear(kernels, pass, buffers, shape, { epilogue: c.epilogue, tiling: c.tiling, storage, arithmetic: c.arithmetic ?? 'f32' });
  pass.end();
  device.queue.submit([encoder.finish()]);
  dispatch?.destroy();
  const got = fromStorage(await readBuffer(device, buffers.y, c.rows * c.outDim * storageElementBytes(storage)), storage);
  for (const b of Object.values(buffers)) b.destroy();
  // x and w now hold the values the kernel saw (toStorage rounded them in place).
  const sumAbs = visionLinearReference(x.map(Math.abs), w.map(Math.abs), undefined, residual, shape, 'none');
  return { got, want: visionLinearReference(x, w, bias, residual, shape, c.epilogue), sumAbs };
}

/**
 * Worst-case |error| of one output with f16 arithmetic (vision-linear.wgsl, arithmetic-f16.wgsl), from the inputs
 * the kernel saw: a k tile's f16 sum of n ≤ TK products is off by at most γ_n = n·u/(1 − n·u) of its Σ|x·w|
 * (Higham, inner products; f16 fma or mul + add alike, gradual underflow), the f32 totals add ≤ (K/TK + 1)·2^-24
 * of Σ|x·w|, the epilogue multiplies that by at most EPILOGUE_SLOPE, and the f16 store adds u·|y|.
 */
function f16ArithmeticBound(c: Case, sumAbs: number, want: number): number {
  const n = c.tiling.tileK;
  const gamma = (n * U16) / (1 - n * U16) + (c.inDim / n + 1) * 2 ** -24;
  return EPILOGUE_SLOPE * gamma * sumAbs + U16 * Math.abs(want) + 2 ** -24;
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

  it.skipIf(!shaderF16)('f16 arithmetic (shader-f16): every output within its worst-case f16 bound, NMSE at the f16 level', async () => {
    const f16 = { storage: 'f16', arithmetic: 'f16' } as const;
    const cases: Case[] = [
      { rows: 37, inDim: 44, outDim: 52, epilogue: 'none', tiling: VISION_LINEAR_SMALL, ...f16 },
      { rows: 70, inDim: 36, outDim: 132, epilogue: 'quick-gelu', bias: false, tiling: VISION_LINEAR_LARGE, scale: 3, ...f16 },
      { rows: 33, inDim: 100, outDim: 68, epilogue: 'residual', tiling: VISION_LINEAR_MEDIUM, ...f16 },
      // The tower's K (1280 = hidden size): 80 k tiles, where one f16 sum over all of k would lose ~15u in RMS.
      { rows: 9, inDim: 1280, outDim: 20, epilogue: 'gelu', tiling: VISION_LINEAR_LARGE, ...f16 },
      { rows: 5, inDim: 1280, outDim: 12, epilogue: 'none', tiling: VISION_LINEAR_SMALL, ...f16 },
    ];
    for (const c of cases) {
      const { got, want, sumAbs } = await run(c);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs((got[i] ?? NaN) - (want[i] ?? 0)) / f16ArithmeticBound(c, sumAbs[i] ?? 0, want[i] ?? 0));
      const stats = compareArrays(got, want);
      console.log(`f16 arithmetic ${c.rows}×${c.inDim}→${c.outDim} ${c.epilogue}: maxAbs ${stats.maxAbs.toExponential(1)}, nmse ${stats.nmse.toExponential(1)} (${(stats.nmse / U16 ** 2).toFixed(1)} u²), worst error / bound ${worst.toFixed(3)}`);
      expect(worst, JSON.stringify(c)).toBeLessThanOrEqual(1);
      expect(stats.nmse, JSON.stringify(c)).toBeLessThan(NMSE_F16_ARITHMETIC);
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
