import { SarashinaError } from '../protocol/errors';

/** Override constants of shaders/vision-attention.wgsl. */
export interface VisionAttentionTiling {
  /** Query rows per workgroup (TILE_ROWS). */
  readonly rows: number;
  /** Key rows per streamed key/value tile (TILE_KEYS). */
  readonly keys: number;
  /** Threads per query row = vec4 lanes of one head (HEAD_VEC4S); headDim ≤ 4 · headVec4s. */
  readonly headVec4s: number;
  /** rows · headVec4s invocations. */
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

/**
 * Above 256 threads per workgroup the tile would only grow the query tile; 256 keeps several workgroups
 * resident per core on every desktop GPU and is SwiftShader's maximum.
 */
const MAX_THREADS = 256;
/**
 * Keys per tile to aim for: each key tile costs four workgroup barriers, so a tile should carry enough
 * work (≥ 32 keys) to amortise them; more only costs workgroup memory.
 */
const TARGET_KEYS = 32;

/**
 * Workgroup bytes the kernel declares: q tile (rows × lanes vec4), k tile (keys × (lanes | 1) vec4, padded to an
 * odd stride), v tile (keys × lanes vec4), score tile (rows × keys f32) and per-thread maxima (rows × lanes f32).
 */
export function visionAttentionStorageBytes(rows: number, keys: number, headVec4s: number): number {
  const roundUp16 = (n: number): number => Math.ceil(n / 16) * 16;
  const vec4s = rows * headVec4s + keys * (headVec4s | 1) + keys * headVec4s;
  return 16 * vec4s + roundUp16(4 * rows * keys) + roundUp16(4 * rows * headVec4s);
}

/**
 * Chooses the tile sizes for a head of `headDim` (a multiple of 8) on a device with `limits`:
 * one thread per (query row, vec4 of the head), as many query rows as fit in 256 threads (and the device's
 * invocation limits), then the largest key tile up to ~32 keys (a multiple of the lanes so every lane scores the
 * same number of keys) that fits the workgroup memory; if even one lane-width of keys does not fit, fewer rows.
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
  let rows = Math.floor(maxThreads / headVec4s);
  let keys = headVec4s * Math.max(1, Math.round(TARGET_KEYS / headVec4s));
  const fits = (): boolean => visionAttentionStorageBytes(rows, keys, headVec4s) <= limits.maxComputeWorkgroupStorageSize;
  while (rows >= 1 && !fits()) {
    if (keys > headVec4s) keys -= headVec4s;
    else if (keys > 1 && rows === 1) keys -= 1;
    else rows -= 1;
  }
  if (rows < 1) {
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
  return { rows, keys, headVec4s, workgroupSize: rows * headVec4s, workgroupStorageBytes: visionAttentionStorageBytes(rows, keys, headVec4s) };
}
