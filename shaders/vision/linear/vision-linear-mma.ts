/**
 * The vision tower's dense layers on subgroup matrices (vision-linear-mma.wgsl): the contract of vision-linear.ts
 * (y = epilogue(x · Wᵀ + b), f32 or f16 storage), with f16 × f16 → f32 products on the adapter's tensor cores.
 * It needs `shader-f16` and `chromium-experimental-subgroup-matrix` with an f16 → f32 configuration, and one
 * subgroup size; visionLinearMmaPlan says whether this device has them and returns null where it does not (the
 * caller keeps vision-linear.ts). With f32 storage the operands are rounded to f16 when staged (the sums stay f32).
 */
import type { GpuCapabilities, SubgroupMatrixConfig } from '../../../src/gpu/gpu-context';
import { defineKernel, type KernelCache, type KernelDescriptor, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import { checkVisionLinearCall, VISION_ACTIVATION_WGSL, type VisionLinearBuffers, type VisionLinearEpilogue, type VisionLinearLimits, type VisionLinearShape, type VisionStorage } from './vision-linear';
import visionLinearMmaWgsl from './vision-linear-mma.wgsl?raw';

/** Register and workgroup blocking of vision-linear-mma.wgsl (in result matrices of the chosen configuration). */
export interface VisionLinearMmaTiling {
  /** Subgroups of a workgroup along rows and columns of y. */
  readonly subgroupsM: number;
  readonly subgroupsN: number;
  /** Result matrices each subgroup accumulates, along rows and columns. */
  readonly tilesM: number;
  readonly tilesN: number;
  /** k per workgroup-memory tile (a multiple of the configuration's K and of 8). */
  readonly tileK: number;
}

/** What the kernel needs from the device: the configuration, the subgroup size and a tiling. */
export interface VisionLinearMmaPlan {
  readonly config: SubgroupMatrixConfig;
  readonly subgroupSize: number;
  readonly tiling: VisionLinearMmaTiling;
}

/** The capabilities the plan reads (GpuCapabilities satisfies this). */
export type VisionLinearMmaCapabilities = Pick<GpuCapabilities, 'shaderF16' | 'subgroupMinSize' | 'subgroupMaxSize' | 'subgroupMatrixConfigs'>;

/**
 * 2 × 2 subgroups of 4 × 2 result matrices (128 × 64 outputs per workgroup at 16 × 16 matrices), k tiles of 32:
 * 8 accumulators per subgroup keep the matrix units fed from one left and one right load per product pair.
 */
export const VISION_LINEAR_MMA_DEFAULT: VisionLinearMmaTiling = { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 2, tileK: 32 };

/** The tilings the bench compares (the default first). */
export const VISION_LINEAR_MMA_CANDIDATES: readonly VisionLinearMmaTiling[] = [
  VISION_LINEAR_MMA_DEFAULT,
  { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 4, tileK: 32 },
  { subgroupsM: 4, subgroupsN: 2, tilesM: 2, tilesN: 4, tileK: 32 },
  { subgroupsM: 2, subgroupsN: 2, tilesM: 2, tilesN: 2, tileK: 32 },
  { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 2, tileK: 64 },
  { subgroupsM: 2, subgroupsN: 4, tilesM: 4, tilesN: 2, tileK: 32 },
  // One subgroup per workgroup: workgroup-uniform offsets (the fallback if the uniformity diagnostic cannot be
  // turned off on some build).
  { subgroupsM: 1, subgroupsN: 1, tilesM: 4, tilesN: 4, tileK: 32 },
];

/**
 * The configuration the kernel uses: f16 operands with an f32 result, the most products per multiply
 * (M · N · K), then the widest K; null when the adapter lists none.
 */
export function chooseVisionLinearMmaConfig(configs: readonly SubgroupMatrixConfig[]): SubgroupMatrixConfig | null {
  // The epilogue reads result rows as vec4s: N must be a multiple of 4.
  const usable = configs.filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && [c.M, c.N, c.K].every((d) => Number.isInteger(d) && d > 0) && c.N % 4 === 0);
  let best: SubgroupMatrixConfig | null = null;
  for (const c of usable) {
    if (!best || c.M * c.N * c.K > best.M * best.N * best.K || (c.M * c.N * c.K === best.M * best.N * best.K && c.K > best.K)) best = c;
  }
  return best;
}

/** Output block of one workgroup. */
export function visionLinearMmaBlock(config: SubgroupMatrixConfig, t: VisionLinearMmaTiling): { rows: number; cols: number } {
  return { rows: t.subgroupsM * t.tilesM * config.M, cols: t.subgroupsN * t.tilesN * config.N };
}

/** Invocations of one workgroup. */
export function visionLinearMmaThreads(subgroupSize: number, t: VisionLinearMmaTiling): number {
  return t.subgroupsM * t.subgroupsN * subgroupSize;
}

/** Workgroup memory the kernel declares, in bytes (the WGSL's tile_a, tile_b, tile_c). */
export function visionLinearMmaStorageBytes(config: SubgroupMatrixConfig, t: VisionLinearMmaTiling): number {
  const { rows, cols } = visionLinearMmaBlock(config, t);
  const stride = t.tileK + 8;
  const halves = rows * stride + t.tileK + cols * stride + t.tileK;
  const c = t.subgroupsM * t.subgroupsN * config.M * (config.N + 4) + config.N + 4;
  return Math.ceil((2 * halves) / 4) * 4 + 4 * c;
}

/** Whether `t` is well formed for `config` and `subgroupSize` and fits `limits`. */
export function visionLinearMmaTilingFits(config: SubgroupMatrixConfig, subgroupSize: number, t: VisionLinearMmaTiling, limits: VisionLinearLimits): boolean {
  const whole = [t.subgroupsM, t.subgroupsN, t.tilesM, t.tilesN, t.tileK].every((v) => Number.isInteger(v) && v >= 1);
  if (!whole || !(Number.isInteger(subgroupSize) && subgroupSize > 0)) return false;
  const threads = visionLinearMmaThreads(subgroupSize, t);
  const { rows, cols } = visionLinearMmaBlock(config, t);
  const kq = t.tileK / 4;
  return (
    t.tileK % config.K === 0 &&
    t.tileK % 8 === 0 &&
    config.N % 4 === 0 &&
    // Every invocation loads the same number of vec4s of each tile.
    (rows * kq) % threads === 0 &&
    (cols * kq) % threads === 0 &&
    threads <= limits.maxComputeInvocationsPerWorkgroup &&
    threads <= limits.maxComputeWorkgroupSizeX &&
    visionLinearMmaStorageBytes(config, t) <= limits.maxComputeWorkgroupStorageSize
  );
}

/**
 * The plan for this device, or null when it lacks what the kernel needs: `shader-f16`, an f16 → f32
 * subgroup-matrix configuration, a single known subgroup size (the kernel numbers subgroups by invocation index),
 * or a tiling within its limits. `tiling` forces one (the bench); otherwise VISION_LINEAR_MMA_CANDIDATES' first
 * that fits.
 */
export function visionLinearMmaPlan(caps: VisionLinearMmaCapabilities, limits: VisionLinearLimits, tiling?: VisionLinearMmaTiling): VisionLinearMmaPlan | null {
  if (!caps.shaderF16) return null;
  const config = chooseVisionLinearMmaConfig(caps.subgroupMatrixConfigs);
  if (!config) return null;
  const subgroupSize = caps.subgroupMaxSize;
  if (!(subgroupSize > 0 && caps.subgroupMinSize === subgroupSize)) return null;
  const candidates = tiling ? [tiling] : VISION_LINEAR_MMA_CANDIDATES;
  const fits = candidates.find((t) => visionLinearMmaTilingFits(config, subgroupSize, t, limits));
  return fits ? { config, subgroupSize, tiling: fits } : null;
}

/** Workgroup counts (x over columns, y over rows). */
export function visionLinearMmaWorkgroups(shape: VisionLinearShape, plan: VisionLinearMmaPlan): [number, number] {
  const { rows, cols } = visionLinearMmaBlock(plan.config, plan.tiling);
  return [Math.ceil(shape.outDim / cols), Math.ceil(shape.rows / rows)];
}

/** `m16n16k16-sg32-2x2-4x2-k32` (configuration, subgroup size, subgroups, matrices per subgroup, k tile). */
export function visionLinearMmaName(plan: VisionLinearMmaPlan): string {
  const { config: c, tiling: t } = plan;
  return `m${c.M}n${c.N}k${c.K}-sg${plan.subgroupSize}-${t.subgroupsM}x${t.subgroupsN}-${t.tilesM}x${t.tilesN}-k${t.tileK}`;
}

/** Storage preludes: the binding element, its f16 operands, and its f32 values for bias, residual and y. */
const STORAGE_PRELUDE: Readonly<Record<VisionStorage, string>> = {
  f16: `alias Vec4Storage = vec4<f16>;
fn to_half4(v: Vec4Storage) -> vec4<f16> { return v; }
fn unpack4(v: Vec4Storage) -> vec4<f32> { return vec4<f32>(v); }
fn pack4(v: vec4<f32>) -> Vec4Storage { return vec4<f16>(v); }
`,
  f32: `alias Vec4Storage = vec4<f32>;
fn to_half4(v: Vec4Storage) -> vec4<f16> { return vec4<f16>(v); }
fn unpack4(v: Vec4Storage) -> vec4<f32> { return v; }
fn pack4(v: vec4<f32>) -> Vec4Storage { return v; }
`,
};

/**
 * The directives every subgroup-matrix kernel starts with. The uniformity diagnostic is off because the load and
 * store offsets depend on the subgroup's index in the workgroup: uniform within each subgroup (what the hardware
 * needs) but not across the workgroup, which is all Tint's analysis can prove.
 */
export const VISION_LINEAR_MMA_DIRECTIVES = 'enable f16;\nenable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);\n';

const PARAMS_FIELDS = { rows: 'u32', in_dim: 'u32', out_dim: 'u32' } as const;
const PARAMS = new UniformStruct('Params', PARAMS_FIELDS);
type VisionLinearMmaDescriptor = KernelDescriptor<typeof PARAMS_FIELDS, 'x' | 'w' | 'bias' | 'y'>;

const descriptors = new Map<string, VisionLinearMmaDescriptor>();

/** The descriptor for a storage type and plan (enables, storage prelude, tiling consts, body); one per variant. */
export function visionLinearMmaKernel(storage: VisionStorage, plan: VisionLinearMmaPlan): VisionLinearMmaDescriptor {
  const name = `vision-linear-mma/${storage}/${visionLinearMmaName(plan)}`;
  let kernel = descriptors.get(name);
  if (!kernel) {
    const { config: c, tiling: t } = plan;
    const consts = [
      `const SG = ${plan.subgroupSize}u;`,
      `const MM = ${c.M}u;`,
      `const MN = ${c.N}u;`,
      `const MK = ${c.K}u;`,
      `const SG_M = ${t.subgroupsM}u;`,
      `const SG_N = ${t.subgroupsN}u;`,
      `const TM = ${t.tilesM}u;`,
      `const TN = ${t.tilesN}u;`,
      `const TK = ${t.tileK}u;`,
      // With one subgroup the index is a constant, so the offsets are workgroup-uniform without the diagnostic.
      t.subgroupsM * t.subgroupsN === 1 ? 'fn subgroup_index(tid: u32) -> u32 { return 0u; }' : 'fn subgroup_index(tid: u32) -> u32 { return tid / SG; }',
    ].join('\n');
    kernel = defineKernel({
      name,
      code: `${VISION_LINEAR_MMA_DIRECTIVES}\n${STORAGE_PRELUDE[storage]}\n${consts}\n\n${VISION_ACTIVATION_WGSL}\n${visionLinearMmaWgsl}`,
      constants: ['EPILOGUE', 'HAS_BIAS'],
      params: PARAMS,
      bindings: ['x', 'w', 'bias', 'y'],
    });
    descriptors.set(name, kernel);
  }
  return kernel;
}

const EPILOGUE_CODE: Readonly<Record<VisionLinearEpilogue, number>> = { none: 0, 'quick-gelu': 1, gelu: 2, residual: 3 };

/**
 * Records y = epilogue(x · weightᵀ + bias) on subgroup matrices into `pass` and returns the dispatch (the caller
 * destroys it after submission), or null for zero rows. The same checks and errors as encodeVisionLinear.
 */
export function encodeVisionLinearMma(
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionLinearBuffers,
  shape: VisionLinearShape,
  options: { readonly plan: VisionLinearMmaPlan; readonly epilogue?: VisionLinearEpilogue; readonly storage?: VisionStorage },
): KernelDispatch | null {
  const storage = options.storage ?? 'f32';
  const epilogue = options.epilogue ?? 'none';
  checkVisionLinearCall(buffers, shape, storage);
  const { rows, inDim, outDim } = shape;
  const [gx, gy] = visionLinearMmaWorkgroups(shape, options.plan);
  const maxGroups = kernels.device.limits.maxComputeWorkgroupsPerDimension;
  if (gy > maxGroups || gx > maxGroups) {
    throw new SarashinaError('image-too-large', `vision-linear: ${rows} rows need ${gy} workgroups along one dimension, over this GPU's ${maxGroups}. Send fewer or smaller images.`, { rows });
  }
  if (rows === 0) return null;
  return kernels.record(pass, visionLinearMmaKernel(storage, options.plan), {
    constants: { EPILOGUE: EPILOGUE_CODE[epilogue], HAS_BIAS: buffers.bias ? 1 : 0 },
    params: { rows, in_dim: inDim, out_dim: outDim },
    buffers: { x: buffers.x, w: buffers.weight, bias: buffers.bias ?? buffers.weight, y: buffers.y },
    workgroups: [gx, gy, 1],
  });
}
