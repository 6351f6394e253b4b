import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { GpuContext } from '../../../src/gpu/gpu-context';
import { KernelCache } from '../../../src/gpu/kernel';
import { installNodeWebGpu } from '../../../src/gpu/node-webgpu';
import { type PatchGrid, visionCuSeqlens, visionRotaryTables } from '../../../src/processor/vision-rotary';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { fromStorage, storageElementBytes, toStorage } from '../storage-test-data';
import { encodeVisionAttentionMma, type NamedMatrixSpelling } from './vision-attention-mma';
import {
  chooseVisionAttentionMma,
  type SubgroupMatrixConfig,
  type SubgroupMatrixSupport,
  usableMmaConfigs,
  type VisionAttentionMmaPlan,
  visionAttentionMmaStorageBytes,
} from './vision-attention-mma-plan';
import { EMULATED_MATRIX_SPELLING } from './vision-attention-mma-test-spelling';
import { SUBGROUP_MATRIX_SPELLINGS, visionAttentionMmaWgsl } from './vision-attention-mma-wgsl';
import { visionAttentionReference } from './vision-attention-reference';

const f16f32 = (M: number, N: number, K: number): SubgroupMatrixConfig => ({ componentType: 'f16', resultComponentType: 'f32', M, N, K });
const f16f16 = (M: number, N: number, K: number): SubgroupMatrixConfig => ({ componentType: 'f16', resultComponentType: 'f16', M, N, K });
// The configs the H200 reports through Dawn with allow_unsafe_apis,vulkan_enable_f16_on_nvidia (../shared/gpu/README.md).
const H200_CONFIGS: SubgroupMatrixConfig[] = [
  f16f16(16, 16, 16),
  f16f32(16, 16, 16),
  f16f16(16, 8, 16),
  f16f32(16, 8, 16),
  f16f16(16, 8, 8),
  f16f32(16, 8, 8),
  { componentType: 'u8', resultComponentType: 'u32', M: 16, N: 16, K: 32 },
  { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 8, K: 32 },
];
const H200: SubgroupMatrixSupport = {
  shaderF16: true,
  subgroups: true,
  subgroupMatrix: true,
  subgroupMatrixConfigs: H200_CONFIGS,
  subgroupMinSize: 32,
  subgroupMaxSize: 32,
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
};

describe('chooseVisionAttentionMma (pure TS)', () => {
  it('H200, Qwen2-VL head 80: f16 → f32 16×16×16, 4 subgroups of 32 for 64 rows, 64-key tiles, head padded to 80', () => {
    const { plan } = chooseVisionAttentionMma(H200, 80);
    expect(plan).toMatchObject({ M: 16, N: 16, K: 16, subgroupSize: 32, subgroups: 4, rows: 64, keys: 64, paddedHeadDim: 80, workgroupSize: 128 });
    expect(plan?.workgroupStorageBytes).toBeLessThanOrEqual(49152);
  });

  it('heads that are not multiples of 16 are padded with zeros to whole fragments (40 → 48, 8 → 16, 72 → 80)', () => {
    expect(chooseVisionAttentionMma(H200, 40).plan?.paddedHeadDim).toBe(48);
    expect(chooseVisionAttentionMma(H200, 8).plan?.paddedHeadDim).toBe(16);
    expect(chooseVisionAttentionMma(H200, 72).plan?.paddedHeadDim).toBe(80);
  });

  it('large heads shrink the key tile (then the rows) to fit the workgroup memory', () => {
    for (const headDim of [128, 256]) {
      const { plan } = chooseVisionAttentionMma(H200, headDim);
      expect(plan).not.toBeNull();
      if (!plan) continue;
      expect(plan.workgroupStorageBytes).toBe(visionAttentionMmaStorageBytes(plan.rows, plan.keys, plan.kvStride, plan.pStride, plan.sStride));
      expect(plan.workgroupStorageBytes).toBeLessThanOrEqual(49152);
      expect(plan.keys % 16).toBe(0);
    }
    expect(chooseVisionAttentionMma(H200, 128).plan?.keys).toBeLessThan(64);
  });

  it('uses the adapter configs, never an assumed shape: only 16×8×16 f16 → f32 listed → N = 8', () => {
    const { plan } = chooseVisionAttentionMma({ ...H200, subgroupMatrixConfigs: [f16f32(16, 8, 16), f16f16(16, 16, 16)] }, 80);
    expect(plan).toMatchObject({ M: 16, N: 8, K: 16, paddedHeadDim: 80 });
    // Apple-like 8×8×8 with subgroups of 32: 4 lanes per row, 8 subgroups of 8 rows.
    expect(chooseVisionAttentionMma({ ...H200, subgroupMatrixConfigs: [f16f32(8, 8, 8)] }, 80).plan).toMatchObject({ M: 8, N: 8, K: 8, subgroups: 8, rows: 64 });
  });

  it('orders usable configs by size and drops the unusable ones', () => {
    expect(usableMmaConfigs(H200_CONFIGS, 32).map((c) => `${c.M}x${c.N}x${c.K}`)).toEqual(['16x16x16', '16x8x16', '16x8x8']);
    expect(usableMmaConfigs([f16f32(16, 16, 16)], 8)).toEqual([]); // M larger than the subgroup
    expect(usableMmaConfigs([f16f32(16, 4, 16), f16f32(16, 16, 12)], 32)).toEqual([]); // N < 8, K not a power of two
  });

  it('no plan (the plain kernel runs) without the features, a fixed subgroup size or an f16 → f32 config', () => {
    expect(chooseVisionAttentionMma({ ...H200, subgroupMatrix: false, subgroupMatrixConfigs: [] }, 80)).toEqual({ plan: null, reason: 'the device has no chromium-experimental-subgroup-matrix' });
    expect(chooseVisionAttentionMma({ ...H200, shaderF16: false }, 80).reason).toMatch(/shader-f16/);
    expect(chooseVisionAttentionMma({ ...H200, subgroups: false }, 80).reason).toMatch(/no subgroups/);
    expect(chooseVisionAttentionMma({ ...H200, subgroupMinSize: 8, subgroupMaxSize: 32 }, 80).reason).toMatch(/not one fixed/);
    expect(chooseVisionAttentionMma({ ...H200, subgroupMatrixConfigs: [f16f16(16, 16, 16)] }, 80).reason).toMatch(/no usable f16 → f32/);
    expect(chooseVisionAttentionMma(H200, 20).reason).toMatch(/multiple of 8/);
    expect(chooseVisionAttentionMma({ ...H200, maxComputeWorkgroupStorageSize: 4096 }, 256).reason).toMatch(/does not fit 4096 bytes/);
  });
});

describe('visionAttentionMmaWgsl (pure TS)', () => {
  const plan = chooseVisionAttentionMma(H200, 80).plan as VisionAttentionMmaPlan;
  it('declares the matrix types <component, columns, rows> from the plan and both builtin spellings', () => {
    const current = visionAttentionMmaWgsl(plan, SUBGROUP_MATRIX_SPELLINGS.template);
    expect(current.header).toContain('enable chromium_experimental_subgroup_matrix;');
    expect(current.body).toContain('subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&k_tile, sg * MMA_M * KV_STRIDE + 64u, KV_STRIDE)');
    expect(current.body).toContain('subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k_tile, 48u * KV_STRIDE + 64u, KV_STRIDE)');
    expect(current.body).toContain('subgroupMatrixStore<row_major>(&s_tile, sg_s + 48u, s_3, S_STRIDE)');
    // 5 q fragments (80 / 16), 4 score fragments (64 / 16), 5 output fragments.
    expect(current.body).toContain('let q_4 =');
    expect(current.body).not.toContain('let q_5 =');
    expect(current.body).toContain('var o_4 = subgroup_matrix_result<f32, 16, 16>();');
    const flag = visionAttentionMmaWgsl(plan, SUBGROUP_MATRIX_SPELLINGS.flag);
    expect(flag.body).toContain('subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&k_tile, 48u * KV_STRIDE + 64u, true, KV_STRIDE)');
    expect(flag.body).toContain('subgroupMatrixStore(&s_tile, sg_s + 48u, s_3, false, S_STRIDE)');
  });
});

// ---- The generated kernel on real WebGPU ------------------------------------------------------------------------

interface Case {
  readonly name: string;
  readonly grids: readonly PatchGrid[];
  readonly heads: number;
  readonly headDim: number;
  /** Multiplies q and k (a sharper softmax). */
  readonly qkScale?: number;
  /** Multiplies k of the image's j-th row by 1 + rise · j / rows: later key tiles raise the running max (rescales). */
  readonly rise?: number;
  readonly f16?: boolean;
}

async function runCase(ctx: GpuContext, kernels: KernelCache, c: Case, plan: VisionAttentionMmaPlan, syntax?: NamedMatrixSpelling) {
  const { device } = ctx;
  const tables = visionRotaryTables(c.grids, c.headDim);
  const width = c.heads * c.headDim;
  const qkv = randomFloats(tables.patches * 3 * width, 29);
  for (let r = 0; r < tables.patches; r++) {
    for (let i = 0; i < 2 * width; i++) {
      const rise = i >= width && c.rise ? 1 + (c.rise * r) / tables.patches : 1;
      qkv[r * 3 * width + i] = (qkv[r * 3 * width + i] ?? 0) * (c.qkScale ?? 1) * rise;
    }
  }
  const shape = { heads: c.heads, headDim: c.headDim, cuSeqlens: visionCuSeqlens(c.grids) };
  const storage = c.f16 ? 'f16' : 'f32';
  const outBytes = tables.patches * width * storageElementBytes(storage);
  const buffers = {
    qkv: uploadBuffer(device, 'qkv', toStorage(qkv, storage)),
    cos: uploadBuffer(device, 'cos', tables.cos),
    sin: uploadBuffer(device, 'sin', tables.sin),
    cuSeqlens: uploadBuffer(device, 'cu_seqlens', new Uint32Array(shape.cuSeqlens)),
    out: createStorageBuffer(device, 'out', outBytes),
  };
  try {
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    const dispatch = encodeVisionAttentionMma(kernels, pass, buffers, shape, { plan, storage, ...(syntax ? { syntax } : {}) });
    pass.end();
    device.queue.submit([encoder.finish()]);
    dispatch.destroy();
    const error = await device.popErrorScope();
    if (error) throw new Error(error.message);
    const got = fromStorage(await readBuffer(device, buffers.out, outBytes), storage);
    return compareArrays(got, visionAttentionReference(qkv, tables.cos, tables.sin, shape));
  } finally {
    for (const b of Object.values(buffers)) b.destroy();
  }
}

// f16 bound: q, rope(k), v and P are rounded to f16 (relative 2^-11 each); the scores (log2 domain, |s| ≲ 4 here)
// then carry ≲ 4 · 2^-11 ≈ 2e-3 absolute error, the weights as much relative error, and the outputs (convex
// combinations of |v| ≤ 1) ≲ 2e-3 + 2 · 2^-11 ≈ 3e-3. Sharper softmaxes (qkScale 4) scale the score error by 16.
const MAX_ABS_F16_MATH = 4e-3;
const MAX_ABS_SHARP = 2e-2;

const CASES: readonly Case[] = [
  { name: 'Qwen2-VL head 80, three images of 4 / 60 / 28 rows (not multiples of the tiles)', grids: [{ t: 1, h: 2, w: 2 }, { t: 1, h: 6, w: 10 }, { t: 1, h: 14, w: 2 }], heads: 2, headDim: 80 },
  { name: 'head 40 (padded with zeros to whole fragments), one 10×14 image over several key tiles', grids: [{ t: 1, h: 10, w: 14 }], heads: 3, headDim: 40 },
  { name: 'head 16, sharp and rising scores (later tiles move the running max: rescales)', grids: [{ t: 1, h: 12, w: 12 }, { t: 1, h: 2, w: 6 }], heads: 2, headDim: 16, qkScale: 4, rise: 3 },
  { name: 'head 80, f16 storage', grids: [{ t: 1, h: 6, w: 10 }], heads: 2, headDim: 80, f16: true },
];

/** `plan` with `keys` keys per tile (the strides and bytes follow). */
function withKeys(plan: VisionAttentionMmaPlan, keys: number, ownQ = false): VisionAttentionMmaPlan {
  const pStride = keys + 8;
  const sStride = keys;
  return { ...plan, keys, pStride, sStride, ownQ, workgroupStorageBytes: visionAttentionMmaStorageBytes(plan.rows, keys, plan.kvStride, pStride, sStride, ownQ) };
}

// Small shapes for the software spelling (each still crosses images, pads heads, streams several key tiles).
const EMULATED_CASES: readonly Case[] = [
  { name: 'head 80, two images of 4 / 12 rows', grids: [{ t: 1, h: 2, w: 2 }, { t: 1, h: 2, w: 6 }], heads: 1, headDim: 80 },
  { name: 'head 40 (padded to 48), 20 rows over two key tiles', grids: [{ t: 1, h: 2, w: 10 }], heads: 1, headDim: 40 },
  { name: 'head 16, sharp and rising scores over three key tiles (rescales)', grids: [{ t: 1, h: 6, w: 6 }, { t: 1, h: 2, w: 2 }], heads: 1, headDim: 16, qkScale: 4, rise: 3 },
  { name: 'head 16, f16 storage', grids: [{ t: 1, h: 2, w: 6 }], heads: 2, headDim: 16, f16: true },
];

const bound = (c: Case): number => (c.qkScale ? MAX_ABS_SHARP : MAX_ABS_F16_MATH) + (c.f16 ? 5e-4 : 0);

// The software spelling is slow on lavapipe (every lane computes whole fragments in private arrays: ~2 min for 64 rows
// of head 16, ~45 s to compile head 80), so it runs on request only: SARASHINA_MMA_EMULATION=1 with the lavapipe
// project. Run 2026-12-02 (H14b) on these cases before the kernel's first GPU run.
const EMULATION_REQUESTED = process.env.SARASHINA_MMA_EMULATION === '1';

describe.skipIf(!EMULATION_REQUESTED)('vision-attention-mma, emulated subgroup matrices (software spelling; SARASHINA_MMA_EMULATION=1)', async () => {
  if (!EMULATION_REQUESTED) return; // skipped suite: no GPU context for a suite that does not run
  const ctx = await testGpuContext();
  const caps = ctx.capabilities;
  const runnable = caps.shaderF16 && caps.subgroups && caps.subgroupMinSize === caps.subgroupMaxSize && caps.subgroupMinSize >= 4;
  const kernels = new KernelCache(ctx.device);
  const emulated: NamedMatrixSpelling = { name: 'emulated', spelling: EMULATED_MATRIX_SPELLING };
  // Shapes the adapter's subgroup size allows: 2 lanes per row (one shuffle step), and N ≠ K with one lane per row.
  const sg = caps.subgroupMinSize;
  const support = (config: SubgroupMatrixConfig): SubgroupMatrixSupport => ({ ...caps, subgroupMatrix: true, subgroupMatrixConfigs: [config] });
  // Small key tiles keep the number of (inlined, software) matrix operations and so lavapipe's compile time low;
  // with 16 keys and N = 16 the output also goes through workgroup memory in several rounds.
  const plans = runnable
    ? [
        { label: `M${sg / 2} N16 K16, 2 lanes per row, 16-key tiles`, config: f16f32(sg / 2, 16, 16), keys: 16, cases: EMULATED_CASES },
        { label: `M${sg} N8 K16, 1 lane per row, 16-key tiles`, config: f16f32(sg, 8, 16), keys: 16, cases: EMULATED_CASES.filter((c) => c.headDim <= 40) },
        { label: `M${sg / 2} N16 K16, q in its own tile, 16-key tiles`, config: f16f32(sg / 2, 16, 16), keys: 16, ownQ: true, cases: EMULATED_CASES.filter((c) => c.headDim !== 40) },
      ]
    : [];
  it.skipIf(!runnable)(runnable ? 'the plans fit this adapter' : `skipped: this adapter has ${caps.shaderF16 ? '' : 'no shader-f16, '}subgroups ${caps.subgroupMinSize}–${caps.subgroupMaxSize} (use lavapipe)`, () => {
    for (const { config, keys, ownQ } of plans) {
      const plan = chooseVisionAttentionMma(support(config), 80).plan as VisionAttentionMmaPlan;
      expect(withKeys(plan, keys, ownQ).workgroupStorageBytes).toBeLessThanOrEqual(caps.maxComputeWorkgroupStorageSize);
    }
  });
  for (const { label, config, keys, ownQ, cases } of plans) {
    for (const c of cases) {
      it(`${label}: ${c.name}`, async () => {
        const { plan, reason } = chooseVisionAttentionMma(support(config), c.headDim);
        if (!plan) throw new Error(reason);
        const stats = await runCase(ctx, kernels, c, withKeys(plan, keys, ownQ), emulated);
        expect(stats.maxAbs).toBeLessThan(bound(c));
      });
    }
  }
});

// On a machine with a GPU whose Dawn adapter has subgroup matrices (SARASHINA_MMA_GPU=1; Dawn toggles from
// SARASHINA_DAWN_FLAGS, default allow_unsafe_apis,vulkan_enable_f16_on_nvidia). CI's CPU adapters have none; the GPU
// machine has no node_modules, so there bench/gpu/vision-attention-mma.ts runs the same checks.
const GPU_REQUESTED = process.env.SARASHINA_MMA_GPU === '1';

describe.skipIf(!GPU_REQUESTED)('vision-attention-mma on the adapter’s own subgroup matrices (SARASHINA_MMA_GPU=1)', async () => {
  if (!GPU_REQUESTED) return; // skipped suite: no GPU context for a suite that does not run
  const flags = process.env.SARASHINA_DAWN_FLAGS ?? 'allow_unsafe_apis,vulkan_enable_f16_on_nvidia';
  const ctx = await GpuContext.create({ gpu: await installNodeWebGpu({ backend: 'system', dawnFlags: [`enable-dawn-features=${flags}`] }) });
  const choice = chooseVisionAttentionMma(ctx.capabilities, 80);
  it('the adapter has a plan for head 80', () => {
    expect(choice.reason).toBeUndefined();
  });
  for (const c of choice.plan ? CASES : []) {
    it(c.name, async () => {
      const { plan, reason } = chooseVisionAttentionMma(ctx.capabilities, c.headDim);
      if (!plan) throw new Error(reason);
      const stats = await runCase(ctx, new KernelCache(ctx.device), c, plan);
      expect(stats.maxAbs).toBeLessThan(bound(c));
    });
  }
});
