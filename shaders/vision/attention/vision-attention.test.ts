import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { type PatchGrid, visionRotaryTables } from '../../../src/processor/vision-rotary';
import { SarashinaError } from '../../../src/protocol/errors';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { fromStorage, storageElementBytes, toStorage } from '../storage-test-data';
import { visionCuSeqlens } from '../../../src/processor/vision-rotary';
import { encodeVisionAttention, visionAttentionTiles } from './vision-attention';
import type { VisionArithmetic } from '../vision-numerics';
import { visionAttentionReference } from './vision-attention-reference';
import {
  chooseVisionAttentionTiling,
  type VisionAttentionLimits,
  type VisionAttentionTiling,
  visionAttentionStorageBytes,
} from './vision-attention-tiling';

// Tolerance: outputs are convex combinations of O(1) values; f32 dot products over ≤ 80 terms, exp2 and the
// online-softmax rescaling stay within ~1e-6 relative, so 1e-4 max-abs leaves room without hiding a wrong mask.
const MAX_ABS = 1e-4;
// f16 output: rounding to 11 significant bits is ≤ 2^-12 for |out| < 1, plus the f32 error above.
const MAX_ABS_F16 = 5e-4;
/** f16's unit roundoff (round to nearest, 11 significant bits). */
const U16 = 2 ** -11;
/** γ_n = n·u / (1 − n·u): the relative error bound of n chained f16 roundings (Higham). */
const gamma16 = (n: number): number => (n * U16) / (1 - n * U16);
// f16 arithmetic, statistically: the p·v runs (≤ 16 keys summed in f16) dominate, ≈ 1.6·u·σ_v/√keys in RMS against
// outputs of RMS ≈ σ_v/√keys (averages of random v), plus u/√3 for the store: NMSE ≈ (2u)²; (4u)² leaves 2× in RMS.
const NMSE_F16_ARITHMETIC = (4 * U16) ** 2;

const shaderF16 = (await testGpuContext()).capabilities.shaderF16;

interface RunCase {
  readonly grids: readonly PatchGrid[];
  readonly heads: number;
  readonly headDim: number;
  /** Multiplies q and k, making the softmax sharper (exercises the running-max rescale). */
  readonly qkScale?: number;
  /** Blocks to use instead of the grids' own (to compare against one block of the same rows). */
  readonly cuSeqlens?: readonly number[];
  readonly tiling?: VisionAttentionTiling;
  readonly seed?: number;
  /** Store qkv and out as f16 (the reference then sees the f16-rounded inputs). */
  readonly f16?: boolean;
  /** f16 storage and f16 arithmetic (shader-f16). */
  readonly f16Arithmetic?: boolean;
}

// One cache for the file: SwiftShader takes seconds to compile a variant (it unrolls the zero-initialisation of
// workgroup memory), so each tiling is compiled once.
let kernels: KernelCache | undefined;

async function runCase(c: RunCase): Promise<{ got: Float32Array; want: Float64Array; qkv: Float32Array; cuSeqlens: readonly number[] }> {
  const { device } = await testGpuContext();
  const tables = visionRotaryTables(c.grids, c.headDim);
  const width = c.heads * c.headDim;
  const qkv = randomFloats(tables.patches * 3 * width, c.seed ?? 11);
  if (c.qkScale !== undefined) {
    for (let r = 0; r < tables.patches; r++) for (let i = 0; i < 2 * width; i++) qkv[r * 3 * width + i] = (qkv[r * 3 * width + i] ?? 0) * c.qkScale;
  }
  const shape = { heads: c.heads, headDim: c.headDim, cuSeqlens: c.cuSeqlens ?? visionCuSeqlens(c.grids) };
  const storage = c.f16 || c.f16Arithmetic ? 'f16' : 'f32';
  const arithmetic = c.f16Arithmetic ? 'f16' : 'f32';
  const outBytes = tables.patches * width * storageElementBytes(storage);
  const buffers = {
    qkv: uploadBuffer(device, 'qkv', toStorage(qkv, storage)),
    cos: uploadBuffer(device, 'cos', tables.cos),
    sin: uploadBuffer(device, 'sin', tables.sin),
    cuSeqlens: uploadBuffer(device, 'cu_seqlens', new Uint32Array(shape.cuSeqlens)),
    out: createStorageBuffer(device, 'out', outBytes),
  };
  kernels ??= new KernelCache(device);
  try {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    const dispatch = encodeVisionAttention(kernels, pass, buffers, shape, c.tiling ? { tiling: c.tiling, storage, arithmetic } : { storage, arithmetic });
    pass.end();
    device.queue.submit([encoder.finish()]);
    dispatch.destroy();
    const got = fromStorage(await readBuffer(device, buffers.out, outBytes), storage);
    return { got, want: visionAttentionReference(qkv, tables.cos, tables.sin, shape), qkv, cuSeqlens: shape.cuSeqlens };
  } finally {
    for (const b of Object.values(buffers)) b.destroy();
  }
}

function forcedTiling(rowGroups: number, keys: number, headVec4s: number, arithmetic: VisionArithmetic = 'f32'): VisionAttentionTiling {
  const workgroupStorageBytes = visionAttentionStorageBytes(rowGroups, keys, headVec4s, arithmetic);
  return { rowGroups, rows: 4 * rowGroups, keys, headVec4s, workgroupSize: rowGroups * headVec4s, workgroupStorageBytes };
}

/**
 * Worst-case |error| of each output element with f16 arithmetic (vision-attention.wgsl), from the f16 inputs the
 * kernel saw and the reference output o. Scores: q′ = rope(q)·log2(e)/√d and k′ = rope(k) are rounded to f16 (2u) and
 * each product q′_d·k′_d passes ≤ 8 f16 roundings (a 4-term dot, then a run of 4 dots), so every score of row i is
 * off by at most Δ_i = (γ_8 + 2u)·log2(e)/√d·‖q_i‖·max_j ‖k_j‖ (Σ|q′_d·k′_d| ≤ ‖q′‖·‖k′‖; RoPE keeps norms).
 * Weights w ∝ 2^s then change by factors within 2^±2Δ, and Σ_j (w̃_j − w_j)·v_j = Σ_j (w̃_j − w_j)·(v_j − o) is at
 * most (2^2Δ − 1)·max_j |v_j − o|. p·v: p rounded to f16 (u), runs of ≤ 16 keys summed in f16 (γ_17), a subnormal p
 * off by ≤ 2^-25 (gradual underflow): (γ_18 + keys·2^-25)·max_j |v_j|. The f16 store: u·|o|. The f32 parts: 1e-6.
 */
function f16AttentionBound(qkv: Float32Array, want: Float64Array, cuSeqlens: readonly number[], heads: number, headDim: number): Float64Array {
  const width = heads * headDim;
  const bound = new Float64Array(want.length);
  const norm = (row: number, part: number, h: number): number => {
    let s = 0;
    for (let d = 0; d < headDim; d++) s += (qkv[row * 3 * width + part * width + h * headDim + d] ?? 0) ** 2;
    return Math.sqrt(s);
  };
  const scoreScale = Math.LOG2E / Math.sqrt(headDim);
  for (let b = 0; b + 1 < cuSeqlens.length; b++) {
    const [start, end] = [cuSeqlens[b] ?? 0, cuSeqlens[b + 1] ?? 0];
    for (let h = 0; h < heads; h++) {
      let kMax = 0;
      for (let j = start; j < end; j++) kMax = Math.max(kMax, norm(j, 1, h));
      for (let i = start; i < end; i++) {
        const delta = (gamma16(8) + 2 * U16) * scoreScale * norm(i, 0, h) * kMax;
        for (let d = 0; d < headDim; d++) {
          const o = i * width + h * headDim + d;
          const out = want[o] ?? 0;
          let spread = 0;
          let vMax = 0;
          for (let j = start; j < end; j++) {
            const v = qkv[j * 3 * width + 2 * width + h * headDim + d] ?? 0;
            spread = Math.max(spread, Math.abs(v - out));
            vMax = Math.max(vMax, Math.abs(v));
          }
          bound[o] = (2 ** (2 * delta) - 1) * spread + (gamma16(18) + (end - start) * 2 ** -25) * vMax + U16 * Math.abs(out) + 1e-6;
        }
      }
    }
  }
  return bound;
}

const SWIFTSHADER_LIMITS: VisionAttentionLimits = {
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
};
const NVIDIA_LIMITS: VisionAttentionLimits = {
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
};
const WEBGPU_DEFAULT_LIMITS: VisionAttentionLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
};

describe('chooseVisionAttentionTiling', () => {
  for (const limits of [SWIFTSHADER_LIMITS, NVIDIA_LIMITS, WEBGPU_DEFAULT_LIMITS]) {
    for (const [headDim, arithmetic] of [8, 16, 64, 80, 128, 256].flatMap((d) => [[d, 'f32'] as const, [d, 'f16'] as const])) {
      it(`headDim ${headDim}, ${arithmetic} arithmetic, within ${limits.maxComputeWorkgroupStorageSize} B / ${limits.maxComputeInvocationsPerWorkgroup} threads`, () => {
        const t = chooseVisionAttentionTiling(headDim, limits, arithmetic);
        expect(t.headVec4s * 4).toBe(headDim);
        expect(t.rows).toBeGreaterThanOrEqual(1);
        expect(t.keys).toBeGreaterThanOrEqual(1);
        expect(t.rows).toBe(4 * t.rowGroups);
        expect(t.rows).toBeLessThanOrEqual(64);
        expect(t.workgroupSize).toBe(t.rowGroups * t.headVec4s);
        expect(t.workgroupSize).toBeLessThanOrEqual(limits.maxComputeInvocationsPerWorkgroup);
        expect(t.workgroupStorageBytes).toBe(visionAttentionStorageBytes(t.rowGroups, t.keys, t.headVec4s, arithmetic));
        expect(t.workgroupStorageBytes).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
      });
    }
  }

  it('Qwen2-VL head (80): 20 lanes; 40 rows in 32 KiB, 64 rows in 48 KiB, tiles of 20 keys', () => {
    expect(chooseVisionAttentionTiling(80, SWIFTSHADER_LIMITS)).toMatchObject({ rows: 40, keys: 20, workgroupSize: 200 });
    expect(chooseVisionAttentionTiling(80, NVIDIA_LIMITS)).toMatchObject({ rows: 64, keys: 20, workgroupSize: 320 });
  });

  it('f16 arithmetic halves the q/k/v tiles: the same head gets more rows or keys in the same memory', () => {
    // 8 bytes per q/k/v vec4 instead of 16 (scores and maxima stay f32): e.g. 12 groups × 40 keys = 32,320 B ≤ 32 KiB.
    expect(visionAttentionStorageBytes(12, 40, 20, 'f16')).toBe(8 * (4 * 12 * 20 + 40 * 21 + 40 * 20) + 16 * (12 * 40 + 12 * 20));
    expect(chooseVisionAttentionTiling(80, SWIFTSHADER_LIMITS, 'f16')).toMatchObject({ rows: 48, keys: 40 });
    expect(chooseVisionAttentionTiling(80, NVIDIA_LIMITS, 'f16')).toMatchObject({ rows: 64, keys: 40 });
    // WebGPU's default 16 KiB: 4 rows per workgroup in f32, 28 in f16.
    expect(chooseVisionAttentionTiling(80, WEBGPU_DEFAULT_LIMITS)).toMatchObject({ rows: 4, keys: 20 });
    expect(chooseVisionAttentionTiling(80, WEBGPU_DEFAULT_LIMITS, 'f16')).toMatchObject({ rows: 28, keys: 20 });
  });

  it('rejects head sizes that are not multiples of 8, and limits too small', () => {
    expect(() => chooseVisionAttentionTiling(20, SWIFTSHADER_LIMITS)).toThrow(SarashinaError);
    expect(() => chooseVisionAttentionTiling(0, SWIFTSHADER_LIMITS)).toThrow(/multiple of 8, got 0/);
    const tiny = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 16, maxComputeWorkgroupSizeX: 16 };
    expect(() => chooseVisionAttentionTiling(80, tiny)).toThrow(/cannot run vision attention/);
  });
});

describe('visionCuSeqlens', () => {
  it('one block per image frame, prefix-summed', () => {
    expect(visionCuSeqlens([{ t: 1, h: 4, w: 6 }, { t: 2, h: 2, w: 2 }, { t: 1, h: 14, w: 2 }])).toEqual([0, 24, 28, 32, 60]);
    expect(visionAttentionTiles([0, 24, 28, 60], 12)).toBe(2 + 1 + 3);
  });
});

describe('vision-attention kernel on real WebGPU', () => {
  const cases: (RunCase & { name: string })[] = [
    { name: 'Qwen2-VL heads (16 × 80), one 4×6 image', grids: [{ t: 1, h: 4, w: 6 }], heads: 16, headDim: 80 },
    {
      name: 'three images, head 80, lengths 4 / 60 / 28 (not multiples of the tiles)',
      grids: [{ t: 1, h: 2, w: 2 }, { t: 1, h: 6, w: 10 }, { t: 1, h: 14, w: 2 }],
      heads: 2,
      headDim: 80,
    },
    { name: 'tiny-model heads (4 × 16), one 10×14 image over many key tiles', grids: [{ t: 1, h: 10, w: 14 }], heads: 4, headDim: 16 },
    {
      name: 'three images, head 16, sharp softmax (q, k × 4)',
      grids: [{ t: 1, h: 6, w: 6 }, { t: 1, h: 2, w: 10 }, { t: 1, h: 8, w: 6 }],
      heads: 3,
      headDim: 16,
      qkScale: 4,
    },
    {
      name: 'odd forced tiling (8 rows, 7 keys, head 16 in 8 lanes of capacity 32)',
      grids: [{ t: 1, h: 6, w: 6 }, { t: 1, h: 2, w: 6 }],
      heads: 2,
      headDim: 16,
      tiling: forcedTiling(2, 7, 8),
    },
    {
      name: 'forced tiling with one row group and 3 keys, head 80, two images',
      grids: [{ t: 1, h: 2, w: 6 }, { t: 1, h: 4, w: 2 }],
      heads: 1,
      headDim: 80,
      tiling: forcedTiling(1, 3, 20),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { got, want } = await runCase(c);
      const stats = compareArrays(got, want);
      expect(stats.maxAbs).toBeLessThan(MAX_ABS);
      expect(stats.nmse).toBeLessThan(1e-9);
    });
  }

  it('f16 storage (packed pairs): three images, head 80, within f16 output rounding', async () => {
    const { got, want } = await runCase({ grids: [{ t: 1, h: 2, w: 2 }, { t: 1, h: 6, w: 10 }, { t: 1, h: 14, w: 2 }], heads: 2, headDim: 80, f16: true });
    // Inputs are exactly the f16 values the reference sees; the output is rounded to f16 (2^-11 relative, |out| < 1).
    expect(compareArrays(got, want).maxAbs).toBeLessThan(MAX_ABS_F16);
  });

  const f16Cases: (RunCase & { name: string })[] = [
    { name: 'Qwen2-VL heads (16 × 80), one 4×6 image', grids: [{ t: 1, h: 4, w: 6 }], heads: 16, headDim: 80 },
    { name: 'three images, head 80, lengths 4 / 60 / 28', grids: [{ t: 1, h: 2, w: 2 }, { t: 1, h: 6, w: 10 }, { t: 1, h: 14, w: 2 }], heads: 2, headDim: 80 },
    { name: 'tiny-model heads (4 × 16), one 10×14 image, sharper softmax (q, k × 2)', grids: [{ t: 1, h: 10, w: 14 }], heads: 4, headDim: 16, qkScale: 2 },
    // 40 keys per tile: the p·v sums split into runs of 16, 16 and 8 keys.
    { name: 'forced tiling of 40 keys, head 80, two images', grids: [{ t: 1, h: 6, w: 10 }, { t: 1, h: 4, w: 4 }], heads: 1, headDim: 80, tiling: forcedTiling(2, 40, 20, 'f16') },
  ];
  for (const c of f16Cases) {
    it.skipIf(!shaderF16)(`f16 arithmetic (shader-f16): ${c.name}, every output within its worst-case f16 bound`, async () => {
      const { got, want, qkv, cuSeqlens } = await runCase({ ...c, f16Arithmetic: true });
      const bound = f16AttentionBound(qkv, want, cuSeqlens, c.heads, c.headDim);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs((got[i] ?? NaN) - (want[i] ?? 0)) / (bound[i] ?? 0));
      const stats = compareArrays(got, want);
      console.log(`f16 arithmetic ${c.name}: maxAbs ${stats.maxAbs.toExponential(1)}, nmse ${stats.nmse.toExponential(1)} (${(stats.nmse / U16 ** 2).toFixed(1)} u²), worst error / bound ${worst.toFixed(3)}`);
      expect(worst).toBeLessThanOrEqual(1);
      expect(stats.nmse).toBeLessThan(NMSE_F16_ARITHMETIC);
    });
  }

  it('the block-diagonal mask matters: 3 images differ from 1 block of the same rows', async () => {
    const grids = [{ t: 1, h: 4, w: 4 }, { t: 1, h: 2, w: 6 }, { t: 1, h: 4, w: 2 }];
    const separate = await runCase({ grids, heads: 2, headDim: 16 });
    const joined = await runCase({ grids, heads: 2, headDim: 16, cuSeqlens: [0, 36] });
    expect(compareArrays(joined.got, joined.want).maxAbs).toBeLessThan(MAX_ABS);
    expect(compareArrays(separate.got, joined.got).maxAbs).toBeGreaterThan(0.05);
  });

  it('rejects inconsistent shapes with a SarashinaError', async () => {
    await expect(runCase({ grids: [{ t: 1, h: 2, w: 2 }], heads: 2, headDim: 16, cuSeqlens: [0, 8] })).rejects.toThrow(/buffer qkv holds/);
    await expect(runCase({ grids: [{ t: 1, h: 2, w: 4 }], heads: 2, headDim: 16, cuSeqlens: [0, 6, 4] })).rejects.toThrow(/non-decreasing/);
  });
});
