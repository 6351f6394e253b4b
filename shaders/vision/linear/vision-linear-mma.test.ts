import { describe, expect, it } from 'vitest';
import { roundToFloat16 } from '../../../src/gpu/float16-bits';
import { readBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { GpuContext, type SubgroupMatrixConfig } from '../../../src/gpu/gpu-context';
import { defineKernel, KernelCache } from '../../../src/gpu/kernel';
import { installNodeWebGpu } from '../../../src/gpu/node-webgpu';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { wgslDeclarations } from '../../../src/testing/wgsl-declarations';
import { fromStorage, storageElementBytes, toStorage } from '../storage-test-data';
import type { VisionLinearEpilogue, VisionStorage } from './vision-linear';
import {
  chooseVisionLinearMmaConfig,
  encodeVisionLinearMma,
  VISION_LINEAR_MMA_CANDIDATES,
  VISION_LINEAR_MMA_DEFAULT,
  type VisionLinearMmaPlan,
  visionLinearMmaCode,
  visionLinearMmaKernel,
  visionLinearMmaPlan,
  visionLinearMmaStorageBytes,
  visionLinearMmaTilingFits,
  visionLinearMmaWorkgroups,
} from './vision-linear-mma';
import { visionTowerLinearMma } from '../../../src/model/vision-tower';
import { visionLinearReference } from './vision-linear-reference';
import { EMULATED_MATRIX_SPELLING } from '../attention/vision-attention-mma-test-spelling';

// The H200's list through Dawn with allow_unsafe_apis,vulkan_enable_f16_on_nvidia (../shared/gpu/README.md).
const H200_CONFIGS: SubgroupMatrixConfig[] = [
  ...[16, 8].flatMap((N) => ['f16', 'f32'].map((r) => ({ componentType: 'f16', resultComponentType: r, M: 16, N, K: 16 }))),
  { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 8, K: 8 },
  { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 8, K: 8 },
  ...['u8', 'i8'].flatMap((t) => [16, 8].map((N) => ({ componentType: t, resultComponentType: t === 'u8' ? 'u32' : 'i32', M: 16, N, K: 32 }))),
];
const INT8_ONLY = H200_CONFIGS.filter((c) => c.componentType !== 'f16');
const WIDE = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupsPerDimension: 65535 };
const NVIDIA = { shaderF16: true, subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: H200_CONFIGS };

describe('vision-linear-mma: configuration and plan (pure TS)', () => {
  it('takes the f16 → f32 configuration with the most products per multiply, never an f16-result or int8 one', () => {
    expect(chooseVisionLinearMmaConfig(H200_CONFIGS)).toEqual({ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 });
    expect(chooseVisionLinearMmaConfig(H200_CONFIGS.filter((c) => c.N === 8))).toEqual({ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 8, K: 16 });
    // 8 × 8 × 8 (Apple's only size): usable, N is a multiple of 4.
    expect(chooseVisionLinearMmaConfig([{ componentType: 'f16', resultComponentType: 'f32', M: 8, N: 8, K: 8 }])?.M).toBe(8);
    expect(chooseVisionLinearMmaConfig(INT8_ONLY)).toBeNull();
    expect(chooseVisionLinearMmaConfig(H200_CONFIGS.filter((c) => c.resultComponentType !== 'f32'))).toBeNull();
    expect(chooseVisionLinearMmaConfig([])).toBeNull();
  });

  it('plans the kernel only with shader-f16, an f16 → f32 configuration, one subgroup size and a tiling that fits', () => {
    const plan = visionLinearMmaPlan(NVIDIA, WIDE);
    expect(plan).toEqual({ config: { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }, subgroupSize: 32, tiling: VISION_LINEAR_MMA_DEFAULT });
    // The fallback cases: every one leaves the current kernel in charge.
    expect(visionLinearMmaPlan({ ...NVIDIA, shaderF16: false }, WIDE)).toBeNull();
    expect(visionLinearMmaPlan({ ...NVIDIA, subgroupMatrixConfigs: [] }, WIDE)).toBeNull();
    expect(visionLinearMmaPlan({ ...NVIDIA, subgroupMatrixConfigs: INT8_ONLY }, WIDE)).toBeNull();
    expect(visionLinearMmaPlan({ ...NVIDIA, subgroupMinSize: 16, subgroupMaxSize: 32 }, WIDE)).toBeNull();
    expect(visionLinearMmaPlan({ ...NVIDIA, subgroupMinSize: 0, subgroupMaxSize: 0 }, WIDE)).toBeNull();
    // WebGPU's default 16 KiB of workgroup memory: the first candidate that fits is 2 × 2 subgroups of 2 × 2.
    const small = visionLinearMmaPlan(NVIDIA, { ...WIDE, maxComputeWorkgroupStorageSize: 16384 });
    expect(small?.tiling).toEqual({ subgroupsM: 2, subgroupsN: 2, tilesM: 2, tilesN: 2, tileK: 32, epilogueMatrices: 1 });
    expect(visionLinearMmaPlan(NVIDIA, { ...WIDE, maxComputeWorkgroupStorageSize: 4096 })).toBeNull();
    // A forced tiling is taken when it fits, refused when its k tile is not a multiple of the configuration's K.
    expect(visionLinearMmaPlan(NVIDIA, WIDE, { subgroupsM: 4, subgroupsN: 2, tilesM: 2, tilesN: 4, tileK: 32, epilogueMatrices: 2 })?.tiling.subgroupsM).toBe(4);
    expect(visionLinearMmaPlan(NVIDIA, WIDE, { subgroupsM: 1, subgroupsN: 1, tilesM: 1, tilesN: 1, tileK: 8, epilogueMatrices: 1 })).toBeNull();
    // Epilogue rounds must split the subgroup's matrices evenly; 4 rounds of 4 outgrow 48 KiB with 8 subgroups.
    expect(visionLinearMmaPlan(NVIDIA, WIDE, { ...VISION_LINEAR_MMA_DEFAULT, epilogueMatrices: 3 })).toBeNull();
    expect(visionLinearMmaPlan(NVIDIA, WIDE, { ...VISION_LINEAR_MMA_DEFAULT, epilogueMatrices: 8 })).toBeNull();
  });

  it('is taken by the engine only for the storages the gate enables (visionTowerLinearMma)', () => {
    expect(visionTowerLinearMma(NVIDIA, WIDE, 'f16', [])).toBeNull();
    expect(visionTowerLinearMma(NVIDIA, WIDE, 'f16', ['f16'])).toEqual(visionLinearMmaPlan(NVIDIA, WIDE));
    expect(visionTowerLinearMma(NVIDIA, WIDE, 'f32', ['f16'])).toBeNull();
    expect(visionTowerLinearMma({ ...NVIDIA, subgroupMatrixConfigs: [] }, WIDE, 'f16', ['f16', 'f32'])).toBeNull();
  });

  it('sizes blocks, workgroup memory and dispatches from the configuration', () => {
    const plan = visionLinearMmaPlan(NVIDIA, WIDE)!;
    // 128 × 128 outputs per workgroup: 1024 patches × 1280 → 10 × 8 workgroups; 1000 columns × 37 rows → 8 × 1.
    expect(visionLinearMmaWorkgroups({ rows: 1024, inDim: 1280, outDim: 1280 }, plan)).toEqual([10, 8]);
    expect(visionLinearMmaWorkgroups({ rows: 37, inDim: 44, outDim: 1000 }, plan)).toEqual([8, 1]);
    // tile_a and tile_b (128 · 40 + 32 halves each) + tile_c (8 subgroups · 16 rows · (2 · 16 + 4) + 36 floats).
    expect(visionLinearMmaStorageBytes(plan.config, plan.tiling)).toBe(2 * 2 * (128 * 40 + 32) + 4 * (8 * 16 * 36 + 36));
    for (const t of VISION_LINEAR_MMA_CANDIDATES) expect(visionLinearMmaTilingFits(plan.config, 32, t, WIDE), JSON.stringify(t)).toBe(true);
  });

  it('names every matrix and unrolls every matrix loop (no arrays of matrices), for every candidate', () => {
    for (const t of VISION_LINEAR_MMA_CANDIDATES) {
      const plan = visionLinearMmaPlan(NVIDIA, WIDE, t)!;
      const code = visionLinearMmaKernel('f16', plan).code.replace(/\/\/.*$/gm, '');
      const count = (re: RegExp): number => code.match(re)?.length ?? 0;
      const label = JSON.stringify(t);
      expect(code, label).not.toMatch(/array<\s*subgroup_matrix/);
      // Per k tile: tileK / K steps of tilesM left and tilesN right loads and tilesM · tilesN products.
      const steps = t.tileK / 16;
      // Double-buffered: the loop body is written once per buffer.
      const copies = t.doubleBuffered ? 2 : 1;
      expect(count(/subgroupMatrixMultiplyAccumulate\(/g), label).toBe(copies * steps * t.tilesM * t.tilesN);
      expect(count(/subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>\(&tile_a\d?,/g), label).toBe(copies * steps * t.tilesM);
      expect(count(/subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>\(&tile_b\d?,/g), label).toBe(copies * steps * t.tilesN);
      // Every accumulator stored once. Barriers: after the first tile is staged; two per k tile (or one per tile per
      // buffer); after each epilogue round's stores and between rounds.
      expect(count(/subgroupMatrixStore<row_major>\(&tile_c,/g), label).toBe(t.tilesM * t.tilesN);
      for (let i = 0; i < t.tilesM; i++) for (let j = 0; j < t.tilesN; j++) expect(code, label).toContain(`var acc_${i}_${j} = subgroup_matrix_result<f32, 16, 16>();`);
      const rounds = (t.tilesM * t.tilesN) / t.epilogueMatrices;
      expect(count(/workgroupBarrier\(\)/g), label).toBe(3 + 2 * rounds - 1);
    }
  });

  it('declares what its WGSL declares (params, bindings, overrides, entry point) for both storages', () => {
    const plan = visionLinearMmaPlan(NVIDIA, WIDE)!;
    for (const storage of ['f16', 'f32'] as const) {
      const kernel = visionLinearMmaKernel(storage, plan);
      const wgsl = wgslDeclarations(kernel.code);
      expect(wgsl.structs.get('Params')?.map((f) => f.name)).toEqual(['rows', 'in_dim', 'out_dim', '_pad']);
      expect([...wgsl.bindings.entries()]).toEqual([[0, ['params']], [1, ['x']], [2, ['w']], [3, ['bias']], [4, ['y']]]);
      expect([...wgsl.overrides].sort()).toEqual([...kernel.constants].sort());
      expect(wgsl.entryPoints).toEqual(['main']);
      expect(kernel.code).toContain('diagnostic(off, chromium.subgroup_matrix_uniformity);');
    }
  });
});

/**
 * The kernel generated with the software spelling of the subgroup-matrix operations (vision-attention-mma's test
 * spelling: every invocation holds whole matrices; row-major [r, c] at offset + r·stride + c, column-major at
 * offset + c·stride + r). What the CPU adapters can run: it checks everything around the builtins (staging, zero
 * padding of edge tiles, offsets, the unrolled steps, the epilogue rounds) against the reference. The kernel uses
 * no subgroup builtins, so `enable subgroups` goes; `f32Operands` replaces f16 by f32 for adapters without
 * shader-f16 (f32 storage only).
 */
function emulated(storage: VisionStorage, plan: VisionLinearMmaPlan, f32Operands: boolean) {
  const kernel = visionLinearMmaKernel(storage, plan);
  let code = visionLinearMmaCode(storage, plan, EMULATED_MATRIX_SPELLING);
  expect(code).toContain('enable subgroups;');
  code = code.replace('enable subgroups;', '');
  expect(code.replace(/\/\/.*$/gm, '')).not.toMatch(/subgroup_?[mM]atrix/);
  if (f32Operands) code = code.replace('enable f16;', '').replace(/\bf16\b/g, 'f32');
  return defineKernel({ name: `${kernel.name}/emulated${f32Operands ? '-f32' : ''}`, code, constants: kernel.constants, params: kernel.params, bindings: kernel.bindings });
}

interface Case {
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly epilogue: VisionLinearEpilogue;
  readonly bias?: boolean;
  readonly scale?: number;
}

const EPILOGUE: Readonly<Record<VisionLinearEpilogue, number>> = { none: 0, 'quick-gelu': 1, gelu: 2, residual: 3 };

/** Runs `c` through `record` (the emulated or the real kernel) and returns it next to the reference. */
async function runCase(
  device: GPUDevice,
  c: Case,
  storage: VisionStorage,
  record: (pass: GPUComputePassEncoder, buffers: { x: GPUBuffer; weight: GPUBuffer; bias?: GPUBuffer; y: GPUBuffer }) => { destroy(): void } | null,
): Promise<{ got: Float32Array; exact: Float64Array; f16Operands: Float64Array }> {
  const shape = { rows: c.rows, inDim: c.inDim, outDim: c.outDim };
  const x = randomFloats(c.rows * c.inDim, 31).map((v) => v * (c.scale ?? 1));
  const w = randomFloats(c.outDim * c.inDim, 32).map((v) => v * 0.5);
  const bias = c.bias === false ? undefined : randomFloats(c.outDim, 33);
  const residual = randomFloats(c.rows * c.outDim, 34);
  const buffers = {
    x: uploadBuffer(device, 'x', toStorage(x, storage)),
    weight: uploadBuffer(device, 'w', toStorage(w, storage)),
    ...(bias ? { bias: uploadBuffer(device, 'bias', toStorage(bias, storage)) } : {}),
    y: uploadBuffer(device, 'y', toStorage(residual, storage)),
  };
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const dispatch = record(pass, buffers);
  pass.end();
  device.queue.submit([encoder.finish()]);
  dispatch?.destroy();
  const got = fromStorage(await readBuffer(device, buffers.y, c.rows * c.outDim * storageElementBytes(storage)), storage);
  for (const b of Object.values(buffers)) b.destroy();
  return {
    got,
    // toStorage rounded x, w, bias and residual in place for f16 storage: the reference sees the kernel's inputs.
    exact: visionLinearReference(x, w, bias, residual, shape, c.epilogue),
    // The kernel's products: operands rounded to f16 (what f32 storage costs), sums in f32.
    f16Operands: visionLinearReference(roundToFloat16(x), roundToFloat16(w), bias, residual, shape, c.epilogue),
  };
}

// Rows, columns and k not multiples of the block, the matrices or the k tile: several row and column blocks with
// partial edges, k tiles with a partial last one, every epilogue, with and without bias.
const CASES: Case[] = [
  { rows: 130, inDim: 36, outDim: 132, epilogue: 'residual' },
  { rows: 67, inDim: 100, outDim: 68, epilogue: 'gelu', bias: false, scale: 3 },
  { rows: 37, inDim: 44, outDim: 52, epilogue: 'quick-gelu', scale: 3 },
  { rows: 1, inDim: 4, outDim: 4, epilogue: 'none' },
];
// f32 sums of ≤ 100 products of O(1) values (~1e-6) and erf's approximation (≤ 1.5e-7 · |x|), against the
// reference on the same f16 operands.
const MAX_ABS = 2e-5;
// f16 storage also rounds y (2^-11 relative, values up to ~10).
const MAX_ABS_F16 = 1e-2;

// Opt-in, to keep CI time: ~10–30 s on SwiftShader (no shader-f16 there: f32 storage with f32 operands; passed
// 2026-12-02, all three plans); lavapipe has shader-f16 and runs both storages, on two tiny plans (its compiler is
// slow: the three plans timed out at 8 minutes; the tiny ones pass in ~100 s). Run with
//   SARASHINA_MMA_EMULATION=1 npx vitest run --config vitest.config.ts shaders/vision/linear/vision-linear-mma.test.ts --project swiftshader
// (or --project lavapipe).
const EMULATION = Boolean(process.env.SARASHINA_MMA_EMULATION) && !process.env.SARASHINA_MMA_DAWN_FLAGS;
describe.skipIf(!EMULATION)('vision-linear-mma with emulated subgroup matrices (CPU adapter vs plain TS; opt-in: SARASHINA_MMA_EMULATION=1)', () => {
  it('matches the reference on edge shapes for every epilogue, both storages where the adapter has shader-f16', async () => {
    const { device, capabilities } = await testGpuContext();
    const kernels = new KernelCache(device);
    // The subgroup size only shapes workgroups here (the emulation gives every invocation whole matrices).
    const caps = { shaderF16: true, subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: H200_CONFIGS };
    // Without shader-f16 the emulation stages f32: twice the workgroup memory.
    const l = device.limits;
    const limits = {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize / (capabilities.shaderF16 ? 1 : 2),
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    };
    // Small matrices keep the emulation's per-invocation arrays small: CPU adapters spend most of this test compiling.
    const plans: (VisionLinearMmaPlan | null)[] = [
      // 8 × 8 × 8 (as Apple GPUs list), 2 × 2 subgroups of 2 × 2 matrices, two matrices per epilogue round.
      visionLinearMmaPlan({ ...caps, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 8, N: 8, K: 8 }] }, limits, { subgroupsM: 2, subgroupsN: 2, tilesM: 2, tilesN: 2, tileK: 16, epilogueMatrices: 2 }),
      // The H200's 16 × 8 × 8 (M ≠ N), one subgroup per workgroup, one epilogue round.
      visionLinearMmaPlan({ ...caps, subgroupMatrixConfigs: H200_CONFIGS.filter((c) => c.N === 8 && c.K === 8) }, limits, { subgroupsM: 1, subgroupsN: 1, tilesM: 2, tilesN: 2, tileK: 16, epilogueMatrices: 4 }),
      // Double-buffered (an odd and an even number of k tiles: 3 and 4), 16 × 8 × 8, 2 × 1 subgroups of 1 × 2.
      visionLinearMmaPlan({ ...caps, subgroupMatrixConfigs: H200_CONFIGS.filter((c) => c.N === 8 && c.K === 8) }, limits, { subgroupsM: 2, subgroupsN: 1, tilesM: 1, tilesN: 2, tileK: 16, epilogueMatrices: 1, doubleBuffered: true }),
    ];
    const casesOf: Case[][] = [CASES.slice(0, 2), CASES.slice(2, 4), [CASES[0]!, { rows: 40, inDim: 60, outDim: 36, epilogue: 'gelu' }]];
    if (capabilities.shaderF16) {
      // lavapipe (the CPU adapter with shader-f16) compiles these for over 8 minutes: there, one subgroup of 2 × 2
      // 8 × 8 × 8 matrices with 8-deep k tiles, single- and double-buffered, on 3 and 4 k tiles, in both storages.
      const config = [{ componentType: 'f16', resultComponentType: 'f32', M: 8, N: 8, K: 8 }];
      const tiny = { subgroupsM: 1, subgroupsN: 1, tilesM: 2, tilesN: 2, tileK: 8, epilogueMatrices: 2 };
      const tinyCases: Case[] = [
        { rows: 11, inDim: 20, outDim: 20, epilogue: 'residual' },
        { rows: 9, inDim: 32, outDim: 12, epilogue: 'gelu', bias: false, scale: 3 },
      ];
      plans.splice(0, plans.length, ...[false, true].map((doubleBuffered) => visionLinearMmaPlan({ ...caps, subgroupMatrixConfigs: config }, limits, { ...tiny, doubleBuffered })));
      casesOf.splice(0, casesOf.length, tinyCases, tinyCases);
    }
    const storages: VisionStorage[] = capabilities.shaderF16 ? ['f16', 'f32'] : ['f32'];
    // Half the cases per plan: the emulation gives every invocation whole matrices, which CPU adapters run slowly.
    for (const [p, plan] of plans.entries()) {
      if (!plan) throw new Error(`emulation plan ${p} does not fit this adapter's limits`);
      for (const storage of storages) {
        const kernel = emulated(storage, plan, !capabilities.shaderF16);
        for (const c of casesOf[p]!) {
          const { got, exact, f16Operands } = await runCase(device, c, storage, (pass, buffers) =>
            kernels.record(pass, kernel, {
              constants: { EPILOGUE: EPILOGUE[c.epilogue], HAS_BIAS: buffers.bias ? 1 : 0 },
              params: { rows: c.rows, in_dim: c.inDim, out_dim: c.outDim },
              buffers: { x: buffers.x, w: buffers.weight, bias: buffers.bias ?? buffers.weight, y: buffers.y },
              workgroups: [visionLinearMmaWorkgroups(c, plan)[0], visionLinearMmaWorkgroups(c, plan)[1], 1],
            }),
          );
          const label = `${kernel.name} ${JSON.stringify(c)}`;
          // f16 storage: x and w are already f16 values, so both references agree; f32 storage without shader-f16 keeps f32 operands.
          const want = storage === 'f32' && capabilities.shaderF16 ? f16Operands : exact;
          expect(compareArrays(got, want).maxAbs, label).toBeLessThan(storage === 'f16' ? MAX_ABS_F16 : MAX_ABS);
        }
      }
    }
  });
});

// The real kernel needs `chromium-experimental-subgroup-matrix`, which neither CPU adapter has. On a GPU that lists
// it (NVIDIA through Dawn with allow_unsafe_apis,vulkan_enable_f16_on_nvidia): SARASHINA_MMA_DAWN_FLAGS=<flags>.
const GPU_FLAGS = process.env.SARASHINA_MMA_DAWN_FLAGS;
describe.skipIf(!GPU_FLAGS)('vision-linear-mma on a GPU with subgroup matrices (skipped: set SARASHINA_MMA_DAWN_FLAGS on such a GPU)', () => {
  it('matches the reference on edge shapes', async () => {
    // The test setup points VK_ICD_FILENAMES at a CPU driver; this run wants the machine's GPU.
    delete process.env.VK_ICD_FILENAMES;
    const ctx = await GpuContext.create({ gpu: await installNodeWebGpu({ backend: 'system', dawnFlags: [`enable-dawn-features=${GPU_FLAGS}`] }) });
    const plan = visionLinearMmaPlan(ctx.capabilities, ctx.device.limits);
    expect(plan, `${ctx.capabilities.description}: no subgroup-matrix plan (configs ${JSON.stringify(ctx.capabilities.subgroupMatrixConfigs)})`).not.toBeNull();
    const kernels = new KernelCache(ctx.device);
    for (const storage of ['f16', 'f32'] as const) {
      for (const c of CASES) {
        const { got, exact, f16Operands } = await runCase(ctx.device, c, storage, (pass, buffers) => encodeVisionLinearMma(kernels, pass, buffers, c, { plan: plan!, epilogue: c.epilogue, storage }));
        // The matrix units' sums may round differently from f32 FMAs: 10× the emulation's bound.
        expect(compareArrays(got, storage === 'f32' ? f16Operands : exact).maxAbs, `${storage} ${JSON.stringify(c)}`).toBeLessThan(storage === 'f16' ? MAX_ABS_F16 : 10 * MAX_ABS);
      }
    }
    ctx.dispose();
  });
});
