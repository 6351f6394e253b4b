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
}

// One cache for the file: SwiftShader takes seconds to compile a variant (it unrolls the zero-initialisation of
// workgroup memory), so each tiling is compiled once.
let kernels: KernelCache | undefined;

async function runCase(c: RunCase): Promise<{ got: Float32Array; want: Float64Array }> {
  const { device } = await testGpuContext();
  const tables = visionRotaryTables(c.grids, c.headDim);
  const width = c.heads * c.headDim;
  const qkv = randomFloats(tables.patches * 3 * width, c.seed ?? 11);
  if (c.qkScale !== undefined) {
    for (let r = 0; r < tables.patches; r++) for (let i = 0; i < 2 * width; i++) qkv[r * 3 * width + i] = (qkv[r * 3 * width + i] ?? 0) * c.qkScale;
  }
  const shape = { heads: c.heads, headDim: c.headDim, cuSeqlens: c.cuSeqlens ?? visionCuSeqlens(c.grids) };
  const storage = c.f16 ? 'f16' : 'f32';
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
    const dispatch = encodeVisionAttention(kernels, pass, buffers, shape, c.tiling ? { tiling: c.tiling, storage } : { storage });
    pass.end();
    device.queue.submit([encoder.finish()]);
    dispatch.destroy();
    const got = fromStorage(await readBuffer(device, buffers.out, outBytes), storage);
    return { got, want: visionAttentionReference(qkv, tables.cos, tables.sin, shape) };
  } finally {
    for (const b of Object.values(buffers)) b.destroy();
  }
}

function forcedTiling(rowGroups: number, keys: number, headVec4s: number): VisionAttentionTiling {
  const workgroupStorageBytes = visionAttentionStorageBytes(rowGroups, keys, headVec4s);
  return { rowGroups, rows: 4 * rowGroups, keys, headVec4s, workgroupSize: rowGroups * headVec4s, workgroupStorageBytes };
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
    for (const headDim of [8, 16, 64, 80, 128, 256]) {
      it(`headDim ${headDim} within ${limits.maxComputeWorkgroupStorageSize} B / ${limits.maxComputeInvocationsPerWorkgroup} threads`, () => {
        const t = chooseVisionAttentionTiling(headDim, limits);
        expect(t.headVec4s * 4).toBe(headDim);
        expect(t.rows).toBeGreaterThanOrEqual(1);
        expect(t.keys).toBeGreaterThanOrEqual(1);
        expect(t.rows).toBe(4 * t.rowGroups);
        expect(t.rows).toBeLessThanOrEqual(64);
        expect(t.workgroupSize).toBe(t.rowGroups * t.headVec4s);
        expect(t.workgroupSize).toBeLessThanOrEqual(limits.maxComputeInvocationsPerWorkgroup);
        expect(t.workgroupStorageBytes).toBe(visionAttentionStorageBytes(t.rowGroups, t.keys, t.headVec4s));
        expect(t.workgroupStorageBytes).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
      });
    }
  }

  it('Qwen2-VL head (80): 20 lanes; 40 rows in 32 KiB, 64 rows in 48 KiB, tiles of 20 keys', () => {
    expect(chooseVisionAttentionTiling(80, SWIFTSHADER_LIMITS)).toMatchObject({ rows: 40, keys: 20, workgroupSize: 200 });
    expect(chooseVisionAttentionTiling(80, NVIDIA_LIMITS)).toMatchObject({ rows: 64, keys: 20, workgroupSize: 320 });
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
