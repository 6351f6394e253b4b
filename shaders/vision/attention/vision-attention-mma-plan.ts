/**
 * Whether and how the subgroup-matrix (tensor-core) vision attention (vision-attention-mma-wgsl.ts) can run on an
 * adapter, decided from its capabilities alone (pure TS, unit-tested): the f16 → f32 matrix shape from the adapter's
 * `subgroupMatrixConfigs` (never assumed), the subgroup size it reports, the tile sizes that fit its workgroup memory.
 * No plan → the caller keeps the plain kernel (vision-attention.wgsl).
 */

import type { SubgroupMatrixConfig } from '../../../src/gpu/gpu-context';

export type { SubgroupMatrixConfig };

/** What the choice reads from an adapter/device (GpuCapabilities satisfies this). */
export interface SubgroupMatrixSupport {
  readonly shaderF16: boolean;
  readonly subgroups: boolean;
  /** The device was granted `chromium-experimental-subgroup-matrix`. */
  readonly subgroupMatrix: boolean;
  readonly subgroupMatrixConfigs: readonly SubgroupMatrixConfig[];
  readonly subgroupMinSize: number;
  readonly subgroupMaxSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
}

/** Tile sizes and strides of one compiled variant (all element counts unless named bytes). */
export interface VisionAttentionMmaPlan {
  /** The f16 → f32 matrix shape used for S = Q·Kᵀ and O += P·V. */
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** Invocations per subgroup (the adapter's one subgroup size). */
  readonly subgroupSize: number;
  /** Subgroups per workgroup; each owns M query rows. */
  readonly subgroups: number;
  /** Query rows per workgroup: subgroups · M. */
  readonly rows: number;
  /** Keys per streamed key/value tile (a multiple of N and K). */
  readonly keys: number;
  /** The head size this variant serves, rounded up to a multiple of N and K (the pad is zeros). */
  readonly paddedHeadDim: number;
  /** f16 row stride of the q/k and v tiles (paddedHeadDim + 8: 16-byte rows, shifted banks). */
  readonly kvStride: number;
  /** f16 row stride of the P tile (keys + 8). */
  readonly pStride: number;
  /** f32 row stride of the score tile (keys). */
  readonly sStride: number;
  readonly workgroupSize: number;
  readonly workgroupStorageBytes: number;
  /**
   * A row's running max moves only when a tile's max exceeds it by more than this (log2 units; default 8, so the
   * f16 weights stay ≤ 2^8 and O is rescaled rarely). 0 rescales at every rise (the bench compares the two).
   */
  readonly rescaleLog2?: number;
  /**
   * q keeps its own workgroup tile for the whole key loop and its fragments are loaded per key tile (more workgroup
   * memory, fewer keys per tile) instead of being loaded once into fragments before the loop, its staging area then
   * reused for k.
   */
  readonly ownQ?: boolean;
}

/** A plan, or why there is none (the caller then runs the plain kernel). */
export type VisionAttentionMmaChoice = { readonly plan: VisionAttentionMmaPlan; readonly reason?: undefined } | { readonly plan: null; readonly reason: string };

/** Query rows a workgroup aims for (as the plain kernel: more rows amortise each key tile over more queries). */
const TARGET_ROWS = 64;
/** Keys per tile to start from; shrinks (then rows) until the tiles fit the workgroup memory. */
const TARGET_KEYS = 64;
/** Extra f16 per q/k/v/P row: keeps rows 16-byte aligned (subgroup-matrix loads need it) and shifts banks. */
const ROW_PAD = 8;

const isPowerOfTwo = (x: number): boolean => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;

/** Workgroup bytes the generated kernel declares for these sizes (see vision-attention-mma-wgsl.ts). */
export function visionAttentionMmaStorageBytes(rows: number, keys: number, kvStride: number, pStride: number, sStride: number, ownQ = false): number {
  // Each matrix array has one row of slack (a subgroup-matrix access is bounds-checked as reaching a whole stride past
  // its last row; see vision-attention-mma-wgsl.ts). q and k: their own tiles, or one area holding q at the start,
  // then each tile's k.
  const qk = ownQ ? 2 * (rows + 1 + keys + 1) * kvStride : 2 * (Math.max(rows, keys) + 1) * kvStride;
  const v = 2 * (keys + 1) * kvStride;
  const s = 4 * (rows + 1) * sStride; // scores; also the staging of O for rescales and the output
  const p = 2 * (rows + 1) * pStride;
  return qk + v + s + p + 4; // + the rescale flag (u32)
}

/**
 * The f16 → f32 configs the kernel can use, best first: larger M·N·K first (fewer, bigger MMAs), then larger N.
 * Usable: M, N, K powers of two, N and K ≥ 8 (16-byte aligned f16 offsets), M dividing the subgroup size.
 */
export function usableMmaConfigs(configs: readonly SubgroupMatrixConfig[], subgroupSize: number): SubgroupMatrixConfig[] {
  return configs
    .filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32')
    .filter((c) => isPowerOfTwo(c.M) && isPowerOfTwo(c.N) && isPowerOfTwo(c.K) && c.N >= 8 && c.K >= 8 && c.M <= subgroupSize && subgroupSize % c.M === 0)
    .sort((a, b) => b.M * b.N * b.K - a.M * a.N * a.K || b.N - a.N || b.M - a.M);
}

/**
 * Chooses the subgroup-matrix attention variant for heads of `headDim` (a multiple of 8) on `support`, or says why
 * there is none: the adapter must have shader-f16, subgroups and subgroup matrices with an f16 → f32 config, and one
 * fixed subgroup size (the kernel maps subgroup s to invocations s·size …). Per config (best first): 64 / M subgroups
 * of M query rows; 64 keys per tile, fewer (in steps of max(N, K)) and then fewer subgroups while the tiles do not fit
 * the workgroup memory.
 */
export function chooseVisionAttentionMma(support: SubgroupMatrixSupport, headDim: number): VisionAttentionMmaChoice {
  const none = (reason: string): VisionAttentionMmaChoice => ({ plan: null, reason });
  if (!Number.isInteger(headDim) || headDim < 8 || headDim % 8 !== 0) return none(`head size ${headDim} is not a positive multiple of 8`);
  if (!support.shaderF16) return none('the device has no shader-f16');
  if (!support.subgroups) return none('the device has no subgroups');
  if (!support.subgroupMatrix) return none('the device has no chromium-experimental-subgroup-matrix');
  const sg = support.subgroupMinSize;
  if (!(sg > 0 && sg === support.subgroupMaxSize && isPowerOfTwo(sg))) {
    return none(`the subgroup size is not one fixed power of two (min ${support.subgroupMinSize}, max ${support.subgroupMaxSize})`);
  }
  const configs = usableMmaConfigs(support.subgroupMatrixConfigs, sg);
  if (configs.length === 0) return none(`no usable f16 → f32 subgroup-matrix config among ${support.subgroupMatrixConfigs.length} (subgroup size ${sg})`);
  for (const { M, N, K } of configs) {
    const step = Math.max(N, K);
    const paddedHeadDim = Math.ceil(headDim / step) * step;
    const kvStride = paddedHeadDim + ROW_PAD;
    for (let subgroups = Math.max(1, Math.floor(TARGET_ROWS / M)); subgroups >= 1; subgroups--) {
      const workgroupSize = subgroups * sg;
      if (workgroupSize > support.maxComputeInvocationsPerWorkgroup) continue;
      const rows = subgroups * M;
      for (let keys = Math.max(step, Math.floor(TARGET_KEYS / step) * step); keys >= step; keys -= step) {
        if (keys % (sg / M) !== 0) continue; // each of a row's sg / M lanes takes the same number of keys
        const pStride = keys + ROW_PAD;
        const sStride = keys;
        const bytes = visionAttentionMmaStorageBytes(rows, keys, kvStride, pStride, sStride);
        if (bytes <= support.maxComputeWorkgroupStorageSize) {
          return { plan: { M, N, K, subgroupSize: sg, subgroups, rows, keys, paddedHeadDim, kvStride, pStride, sStride, workgroupSize, workgroupStorageBytes: bytes } };
        }
      }
    }
  }
  return none(`head size ${headDim} does not fit ${support.maxComputeWorkgroupStorageSize} bytes of workgroup memory with any subgroup-matrix config`);
}
