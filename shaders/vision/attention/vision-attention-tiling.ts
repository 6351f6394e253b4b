import { SarashinaError } from '../../../src/protocol/errors';

/** Override constants of vision-attention.wgsl. */
export interface VisionAttentionTiling {
  /** Groups of 4 query rows per workgroup (ROW_GROUPS); one thread works for 4 rows at once. */
  readonly rowGroups: number;
  /** Query rows per workgroup: 4 · rowGroups. */
  readonly rows: number;
  /** Key rows per streamed key/value tile (TILE_KEYS). */
  readonly keys: number;
  /** Threads per row group = vec4 lanes of one head (HEAD_VEC4S); headDim ≤ 4 · headVec4s. */
  readonly headVec4s: number;
  /** rowGroups · headVec4s invocations. */
  readonly workgroupSize: number;
  /** Workgroup memory the kernel declares with these constants, in bytes. */
  readonly workgroupStorageBytes: number;
}

/** The device limits the choice depends on (a GPUSupportedLimits satisfies this). */
export interface VisionAttentionLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
}

/** Threads per workgroup at most (and at most the device's limit; SwiftShader's and the WebGPU default are 256). */
const MAX_THREADS = 512;
/**
 * More query rows per workgroup mean fewer k/v tile loads per row, but waste work on short images (tiles never
 * straddle images); rows beat keys for the workgroup memory (bench/BENCH.md "Vision patch attention kernel").
 */
const MAX_ROWS = 64;
/**
 * Keys per tile to aim for: each key tile costs four workgroup barriers, so a tile should carry enough work to
 * amortise them; but workgroup memory spent on rows pays more than on keys (see MAX_ROWS), so keys shrink first.
 */
const TARGET_KEYS = 32;

/**
 * Workgroup bytes the kernel declares, all vec4 arrays: q tile (4 · rowGroups × lanes), k tile (keys × (lanes | 1),
 * padded to an odd stride), v tile (keys × lanes), scores (rowGroups × keys) and per-thread maxima (rowGroups × lanes).
 */
export function visionAttentionStorageBytes(rowGroups: number, keys: number, headVec4s: number): number {
  return 16 * (4 * rowGroups * headVec4s + keys * (headVec4s | 1) + keys * headVec4s + rowGroups * keys + rowGroups * headVec4s);
}

/**
 * Chooses the tile sizes for a head of `headDim` (a multiple of 8) on a device with `limits`: one thread per
 * (group of 4 query rows, vec4 of the head); as many row groups as fit in 512 threads, the device's invocation
 * limits and 64 rows; then the largest key tile up to ~32 keys (a multiple of the lanes, so every lane scores the
 * same number of keys) that fits the workgroup memory; if even one lane-width of keys does not fit, fewer row
 * groups, and with one group left, fewer keys.
 * Throws `invalid-model` for an unsupported headDim and `gpu-limits-too-low` when nothing fits.
 */
export function chooseVisionAttentionTiling(headDim: number, limits: VisionAttentionLimits): VisionAttentionTiling {
  if (!Number.isInteger(headDim) || headDim < 8 || headDim % 8 !== 0) {
    throw new SarashinaError(
      'invalid-model',
      `vision attention needs a head size that is a positive multiple of 8, got ${headDim}. Check vision_config (hidden_size / num_heads).`,
      { headDim },
    );
  }
  const headVec4s = headDim / 4;
  const maxThreads = Math.min(MAX_THREADS, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  let rowGroups = Math.min(Math.floor(maxThreads / headVec4s), MAX_ROWS / 4);
  let keys = headVec4s * Math.max(1, Math.round(TARGET_KEYS / headVec4s));
  const fits = (): boolean => visionAttentionStorageBytes(rowGroups, keys, headVec4s) <= limits.maxComputeWorkgroupStorageSize;
  while (rowGroups >= 1 && !fits()) {
    if (keys > headVec4s) keys -= headVec4s;
    else if (keys > 1 && rowGroups === 1) keys -= 1;
    else rowGroups -= 1;
  }
  if (rowGroups < 1) {
    throw new SarashinaError(
      'gpu-limits-too-low',
      `This GPU cannot run vision attention for head size ${headDim}: it allows ${limits.maxComputeInvocationsPerWorkgroup} ` +
        `invocations and ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory per workgroup. Use a GPU with ` +
        'WebGPU default limits or better (256 invocations, 16 KiB).',
      {
        headDim,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      },
    );
  }
  return {
    rowGroups,
    rows: 4 * rowGroups,
    keys,
    headVec4s,
    workgroupSize: rowGroups * headVec4s,
    workgroupStorageBytes: visionAttentionStorageBytes(rowGroups, keys, headVec4s),
  };
}
