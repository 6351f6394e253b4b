/**
 * Vision-tower self-attention (vision-attention.wgsl): fused 2-D RoPE and block-diagonal flash attention over
 * f32 or f16 storage of qkv and out, one descriptor per storage type, tile sizes from vision-attention-tiling.ts.
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import f16IoWgsl from './io-f16.wgsl?raw';
import f32IoWgsl from './io-f32.wgsl?raw';
import visionAttentionWgsl from './vision-attention.wgsl?raw';
import { chooseVisionAttentionTiling, type VisionAttentionTiling } from './vision-attention-tiling';

/** Element type of `qkv` and `out` in storage (f16: packed pairs, see io-f16.wgsl). */
export type VisionAttentionStorage = 'f32' | 'f16';

const PARAMS = new UniformStruct('Params', { heads: 'u32', head_dim: 'u32', images: 'u32', total_tiles: 'u32' });

const defineVariant = (storage: VisionAttentionStorage, io: string) =>
  defineKernel({
    name: `vision-attention/${storage}`,
    code: `${io}\n${visionAttentionWgsl}`,
    constants: ['ROW_GROUPS', 'TILE_KEYS', 'HEAD_VEC4S'],
    params: PARAMS,
    // The io prelude declares qkv (1) and out (5); the body the others.
    bindings: ['qkv', 'cos_tab', 'sin_tab', 'cu_seqlens', 'out'],
  });

const VARIANTS = { f32: defineVariant('f32', f32IoWgsl), f16: defineVariant('f16', f16IoWgsl) } as const;

/** The descriptor per storage type: the io prelude, then the shared body (one object per variant). */
export function visionAttentionKernel(storage: VisionAttentionStorage): (typeof VARIANTS)[VisionAttentionStorage] {
  return VARIANTS[storage];
}

export interface VisionAttentionShape {
  readonly heads: number;
  /** Elements per head; a multiple of 8 (80 in Qwen2-VL). */
  readonly headDim: number;
  /**
   * Prefix sums of the patch rows of each attention block: block b owns rows [cuSeqlens[b], cuSeqlens[b + 1]).
   * Must equal the contents of `buffers.cuSeqlens` (the host needs the numbers to size the dispatch).
   */
  readonly cuSeqlens: readonly number[];
}

export interface VisionAttentionBuffers {
  /** [rows, 3 · heads · headDim] (f32 or f16 per `options.storage`): the qkv Linear's output, q | k | v per row. */
  readonly qkv: GPUBuffer;
  /** [rows, headDim / 2] f32 rotation tables (src/processor/vision-rotary.ts). */
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  /** u32 [blocks + 1], the same numbers as `shape.cuSeqlens` (see visionCuSeqlens). */
  readonly cuSeqlens: GPUBuffer;
  /** [rows, heads · headDim] output, same element type as qkv. */
  readonly out: GPUBuffer;
}

export interface VisionAttentionOptions {
  /** Tile sizes; default: chooseVisionAttentionTiling(headDim, device.limits). Tests and the bench force others. */
  readonly tiling?: VisionAttentionTiling;
  /** Element type of qkv and out; default 'f32'. 'f16' needs no device feature (values are unpacked to f32). */
  readonly storage?: VisionAttentionStorage;
}


/**
 * Records vision attention (fused 2-D RoPE + block-diagonal softmax attention) into `pass` and returns the
 * dispatch (the caller destroys it after submission): reads `buffers.qkv`, `cos`, `sin`, `cuSeqlens`; writes
 * `buffers.out` (must not alias qkv). qkv and out hold f32, or f16 with `options.storage: 'f16'`; cos/sin are
 * always f32; arithmetic is f32.
 * Throws `invalid-model` for a head size the kernel cannot run and `internal` for inconsistent shapes/buffers.
 */
export function encodeVisionAttention(
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionAttentionBuffers,
  shape: VisionAttentionShape,
  options: VisionAttentionOptions = {},
): KernelDispatch {
  const tiling = options.tiling ?? chooseVisionAttentionTiling(shape.headDim, kernels.device.limits);
  const storage = options.storage ?? 'f32';
  checkVisionAttentionCall(buffers, shape, storage, 4 * tiling.headVec4s);
  // The kernel's query tile is 4 rows per row group.
  const totalTiles = visionAttentionTiles(shape.cuSeqlens, 4 * tiling.rowGroups);
  return kernels.record(pass, VARIANTS[storage], {
    constants: { ROW_GROUPS: tiling.rowGroups, TILE_KEYS: tiling.keys, HEAD_VEC4S: tiling.headVec4s },
    params: { heads: shape.heads, head_dim: shape.headDim, images: shape.cuSeqlens.length - 1, total_tiles: totalTiles },
    buffers: { qkv: buffers.qkv, cos_tab: buffers.cos, sin_tab: buffers.sin, cu_seqlens: buffers.cuSeqlens, out: buffers.out },
    workgroups: totalTiles * shape.heads,
  });
}

/** Number of query tiles of `tileRows` rows when no tile may straddle two blocks. */
export function visionAttentionTiles(cuSeqlens: readonly number[], tileRows: number): number {
  let tiles = 0;
  for (let b = 0; b + 1 < cuSeqlens.length; b++) tiles += Math.ceil(((cuSeqlens[b + 1] ?? 0) - (cuSeqlens[b] ?? 0)) / tileRows);
  return tiles;
}

/**
 * Checks `shape` against itself and `buffers` against the shape (shared by the plain and the subgroup-matrix
 * kernels); returns the total row count. `maxHeadDim` is the largest head the chosen variant serves.
 * Throws `invalid-model` for a head size the kernel cannot run and `internal` for inconsistent shapes/buffers.
 */
export function checkVisionAttentionCall(buffers: VisionAttentionBuffers, shape: VisionAttentionShape, storage: VisionAttentionStorage, maxHeadDim: number): number {
  const rows = validateShape(shape, maxHeadDim);
  const elementBytes = storage === 'f16' ? 2 : 4;
  const need: [keyof VisionAttentionBuffers, number][] = [
    ['qkv', rows * 3 * shape.heads * shape.headDim * elementBytes],
    ['cos', (rows * shape.headDim * 4) / 2],
    ['sin', (rows * shape.headDim * 4) / 2],
    ['cuSeqlens', shape.cuSeqlens.length * 4],
    ['out', rows * shape.heads * shape.headDim * elementBytes],
  ];
  for (const [name, sizeBytes] of need) {
    if (buffers[name].size < sizeBytes) {
      throw new SarashinaError(
        'internal',
        `vision-attention: buffer ${name} holds ${buffers[name].size} bytes but ${rows} rows need ${sizeBytes}. Allocate it from the same shape.`,
        { buffer: name, sizeBytes: buffers[name].size, neededBytes: sizeBytes },
      );
    }
  }
  return rows;
}

/** Checks shape against itself and the variant's largest head; returns the total row count. */
function validateShape(shape: VisionAttentionShape, maxHeadDim: number): number {
  const fail = (what: string, details: Record<string, number>): never => {
    throw new SarashinaError('internal', `vision-attention: ${what}. Build the shape from the image grids (visionCuSeqlens).`, details);
  };
  if (!Number.isInteger(shape.heads) || shape.heads < 1) fail(`heads must be a positive integer, got ${shape.heads}`, { heads: shape.heads });
  if (shape.headDim % 8 !== 0 || shape.headDim < 8 || shape.headDim > maxHeadDim) {
    throw new SarashinaError(
      'invalid-model',
      `vision-attention: headDim ${shape.headDim} is not supported: it must be a positive multiple of 8 and at most ` +
        `${maxHeadDim} for this tiling. Check vision_config (hidden_size / num_heads).`,
      { headDim: shape.headDim },
    );
  }
  const cu = shape.cuSeqlens;
  if (cu.length < 2 || cu[0] !== 0) fail(`cuSeqlens must start at 0 and have at least 2 entries, got [${cu.join(', ')}]`, { entries: cu.length });
  for (let b = 1; b < cu.length; b++) {
    const prev = cu[b - 1] ?? 0;
    const next = cu[b] ?? 0;
    if (!Number.isInteger(next) || next < prev) fail(`cuSeqlens must be non-decreasing integers, got ${next} after ${prev} at ${b}`, { index: b });
  }
  return cu[cu.length - 1] ?? 0;
}
