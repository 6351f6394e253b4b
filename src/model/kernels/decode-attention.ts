/**
 * Decode attention over the static KV cache, split-K: each head's chunks of positions run in parallel, so a
 * context spreads over heads × chunks workgroups instead of one per head, and the chunks are merged. The
 * default ('fused', shaders/decode-attention-fused.wgsl) merges inside the same dispatch: the last workgroup of
 * a head to finish does it (one dispatch per layer). The chunk count follows the position
 * (`chooseAttentionChunks`): short contexts get short chunks so the GPU is still full.
 * The bench baselines stay selectable: 'adaptive' = the same chunking with a second combine dispatch
 * (decode-attention.wgsl + decode-attention-combine.wgsl), 'fixed-64' = the earlier fixed 64-position split.
 */
import attentionWgsl from '../../../shaders/decode-attention.wgsl?raw';
import combineWgsl from '../../../shaders/decode-attention-combine.wgsl?raw';
import fusedWgsl from '../../../shaders/decode-attention-fused.wgsl?raw';
import fixedWgsl from '../../../shaders/decode-attention-fixed.wgsl?raw';
import fixedCombineWgsl from '../../../shaders/decode-attention-fixed-combine.wgsl?raw';
import { createStorageBuffer } from '../../gpu/gpu-buffers';
import type { KernelCache, KernelSource } from '../../gpu/kernel';
import { SarashinaError } from '../../protocol/errors';
import { linearWorkgroups, packWords, type PreparedKernel, prepareKernel } from './prepared-kernel';

export const DECODE_ATTENTION: KernelSource = { name: 'decode-attention', code: attentionWgsl };
export const DECODE_ATTENTION_COMBINE: KernelSource = { name: 'decode-attention-combine', code: combineWgsl };
export const DECODE_ATTENTION_FUSED: KernelSource = { name: 'decode-attention-fused', code: fusedWgsl };
const FIXED_ATTENTION: KernelSource = { name: 'decode-attention-fixed', code: fixedWgsl };
const FIXED_COMBINE: KernelSource = { name: 'decode-attention-fixed-combine', code: fixedCombineWgsl };

/**
 * 'fused' (the default): chunks from `chooseAttentionChunks`, merged in the same dispatch. 'adaptive': the same
 * chunks merged by a second (combine) dispatch. 'fixed-64': the earlier 64-position chunks, two dispatches.
 */
export type DecodeAttentionSplit = 'fused' | 'adaptive' | 'fixed-64';

/** Positions per pass-1 workgroup of the fixed split. */
export const FIXED_ATTENTION_CHUNK = 64;
const WORKGROUP_SIZE = 128;
/**
 * Invocations per workgroup of the fused kernel where the device allows it: 256 streamed the KV cache 1.3–1.5× faster
 * than 128 at its best chunking in run 7 (bench/results/int4-gemv-h200-run7.json: at p = 3499 2.04 vs 2.45 ms for
 * 32 layers). Its workgroup arrays take ≈ 17.1 KiB, over WebGPU's default 16 KiB, so 128 is the fallback.
 */
const FUSED_WORKGROUP_SIZE = 256;
const FUSED_WG256_STORAGE_BYTES = 18 * 1024;
const COMBINE_WORKGROUP_SIZE = 256; // the WebGPU default limit of invocations per workgroup
const MAX_HEAD_DIM = 256;
/** Most positions per chunk and most chunks per head (MAX_CHUNK and MAX_CHUNKS in the shaders). */
const MAX_CHUNK = 256;
const MAX_CHUNKS = 256;
/** Chunk lengths tried, shortest first. */
const CHUNK_LENGTHS = [32, 64, 128, MAX_CHUNK];
/**
 * Workgroups per layer the chunking stays within. Fused kernel (256 invocations), measured on the H200
 * (bench/results/int4-gemv-h200-run7.json, 32 heads, forced chunk lengths 32…256): 256 picks the fastest length at
 * p = 999, 1999, 3499, 4095 (128, 256, 256, 256: ≈ 2 workgroups per SM; more, shorter chunks lost 10–25 %);
 * at p = 299 that run's rows were not reliable (GPU still warming up), the rule gives 64 there.
 * The two-pass baseline keeps run 6's fit (1792: 32, 32, 64, 64, 128 at those positions, 128 invocations).
 */
export const FUSED_TARGET_WORKGROUPS = 256;
export const TWO_PASS_TARGET_WORKGROUPS = 1792;
/** Longest context the adaptive split covers (MAX_CHUNK · MAX_CHUNKS). */
export const MAX_ATTENTION_CONTEXT = MAX_CHUNK * MAX_CHUNKS;

/**
 * Chunks per head for `length` attended positions (p + 1): the shortest chunk length (32, 64, 128, 256) whose
 * heads × chunks stays within `targetWorkgroups` (default FUSED_TARGET_WORKGROUPS) and chunks within MAX_CHUNKS,
 * else 256-position chunks. Pure; length ≤ MAX_ATTENTION_CONTEXT.
 */
export function chooseAttentionChunks(length: number, heads: number, targetWorkgroups = FUSED_TARGET_WORKGROUPS): number {
  for (const chunkLength of CHUNK_LENGTHS) {
    const chunks = Math.ceil(length / chunkLength);
    if ((heads * chunks <= targetWorkgroups && chunks <= MAX_CHUNKS) || chunkLength === MAX_CHUNK) return Math.max(1, chunks);
  }
  return Math.max(1, Math.ceil(length / MAX_CHUNK));
}

/** The most chunks `chooseAttentionChunks` returns for any length up to maxLen (the partials' capacity). */
export function maxAttentionChunks(maxLen: number, heads: number, targetWorkgroups = FUSED_TARGET_WORKGROUPS): number {
  let most = 1;
  for (let length = 1; length <= maxLen; length++) most = Math.max(most, chooseAttentionChunks(length, heads, targetWorkgroups));
  return most;
}

export interface DecodeAttentionShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly maxLen: number;
  /** f32 offset of q[0] in the q buffer (e.g. 0 in a packed qkv buffer). Default 0. */
  readonly qOffset?: number;
  /** f32 offset of the output's first element. Default 0. */
  readonly outOffset?: number;
  /** Softmax scale; default 1 / sqrt(headDim). */
  readonly scale?: number;
}

export interface DecodeAttentionBuffers {
  readonly q: GPUBuffer;
  /** DecodeStepUniform buffer: the query's position p (keys 0..p attended). */
  readonly step: GPUBuffer;
  readonly kCache: GPUBuffer;
  readonly vCache: GPUBuffer;
  /** f32 [heads · headDim] at outOffset (never the q buffer). */
  readonly out: GPUBuffer;
}

export interface DecodeAttentionRope {
  /** llamaRopeTable() cos / sin [≥ maxLen, headDim / 2] f32. */
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  readonly kOffset: number;
  readonly vOffset: number;
}

export class DecodeAttention {
  /** The chunked splits' workgroup grid (chunks, heads, 1), rewritten in place each step: records allocate nothing. */
  private readonly grid: [number, number, number];

  constructor(
    private readonly device: GPUDevice,
    private readonly partial: PreparedKernel,
    /** The merge dispatch; undefined for 'fused' (merged inside the partial dispatch). */
    private readonly combine: PreparedKernel | undefined,
    private readonly partials: GPUBuffer,
    readonly shape: DecodeAttentionShape,
    readonly split: DecodeAttentionSplit,
    private readonly maxChunks: number,
    /** Workgroups per layer the chooser aims at (fused or two-pass fit). */
    private readonly targetWorkgroups: number,
  ) {
    this.grid = [1, shape.heads, 1];
  }

  /**
   * Records the dispatch(es) for the token at `position` (the value also written to the step uniform). `chunks`
   * overrides `chooseAttentionChunks` (fused and adaptive splits; the bench compares chunkings), clamped to what
   * the partials hold and to ≥ ceil(length / 256).
   */
  record(pass: GPUComputePassEncoder, position: number, options?: { chunks?: number }): void {
    const length = Math.min(position, this.shape.maxLen - 1) + 1;
    if (this.split !== 'fixed-64') {
      const wanted = options?.chunks ?? chooseAttentionChunks(length, this.shape.heads, this.targetWorkgroups);
      this.grid[0] = Math.max(Math.ceil(length / MAX_CHUNK), Math.min(wanted, this.maxChunks, length));
      this.partial.record(pass, this.grid);
    } else {
      const chunks = Math.ceil(length / FIXED_ATTENTION_CHUNK);
      this.partial.record(pass, linearWorkgroups(this.device, this.shape.heads * chunks));
    }
    this.combine?.record(pass);
  }

  destroy(): void {
    this.partial.destroy();
    this.combine?.destroy();
    this.partials.destroy();
  }
}

export function prepareDecodeAttention(
  device: GPUDevice,
  kernels: KernelCache,
  buffers: DecodeAttentionBuffers,
  shape: DecodeAttentionShape,
  /**
   * maxChunks: the partials' capacity in chunks per head (fused / adaptive; default the most the chooser uses, ≤ 256).
   * rope: fuse the RoPE + cache append of rope.wgsl (fused / adaptive only): `q` is then the packed qkv buffer before
   * RoPE, with k and v at kOffset / vOffset (f32 elements); the kernel rotates q and k[p] itself and writes row p
   * of both caches, so no rope dispatch runs before it. Positions p ≥ maxLen are not rotated or written (as rope.wgsl).
   * workgroupSize: invocations per workgroup of the fused kernel (default 256 where the device's workgroup storage
   * and invocation limits allow it, else 128; the bench forces either).
   */
  options: { split?: DecodeAttentionSplit; maxChunks?: number; rope?: DecodeAttentionRope; workgroupSize?: 128 | 256 } = {},
): DecodeAttention {
  const { heads, kvHeads, headDim, maxLen } = shape;
  const split = options.split ?? 'fused';
  const rope = options.rope;
  const chunked = split !== 'fixed-64';
  if (rope && !chunked) throw new RangeError('decode attention: the fused RoPE + append needs the fused or adaptive split');
  if (chunked && maxLen > MAX_ATTENTION_CONTEXT) {
    throw new SarashinaError(
      'context-overflow',
      `decode attention: a KV cache of ${maxLen} positions exceeds the ${MAX_ATTENTION_CONTEXT} the decode kernels cover. Use a shorter context length.`,
      { maxLen, limit: MAX_ATTENTION_CONTEXT },
    );
  }
  if (headDim % 4 !== 0 || headDim > MAX_HEAD_DIM || heads % kvHeads !== 0) {
    throw new SarashinaError(
      'invalid-model',
      `decode attention: head_dim ${headDim} must be a multiple of 4 and at most ${MAX_HEAD_DIM}, and heads ${heads} a multiple of kv heads ${kvHeads}. ` +
        'This model shape is not supported by the WGSL decode path; use the ORT decode path.',
      { headDim, heads, kvHeads },
    );
  }
  const targetWorkgroups = split === 'fused' ? FUSED_TARGET_WORKGROUPS : TWO_PASS_TARGET_WORKGROUPS;
  const maxChunks = chunked
    ? Math.min(MAX_CHUNKS, Math.max(options.maxChunks ?? 0, maxAttentionChunks(maxLen, heads, targetWorkgroups)))
    : Math.ceil(maxLen / FIXED_ATTENTION_CHUNK);
  // Past the partials: 'adaptive' one f32 (the chunk count pass 1 leaves for the combine), 'fused' one u32
  // arrival counter per head (zero-initialized; the merging workgroup resets it).
  const tailWords = split === 'fused' ? heads : 1;
  const partials = createStorageBuffer(device, 'decode-attention.partials', (heads * maxChunks * (headDim + 2) + tailWords) * 4);
  const constants: Record<string, number> = chunked
    ? { WORKGROUP_SIZE: split === 'fused' ? (options.workgroupSize ?? fusedWorkgroupSize(device)) : WORKGROUP_SIZE, HEAD_DIM_4: headDim / 4, ROPE_APPEND: rope ? 1 : 0 }
    : { WORKGROUP_SIZE, CHUNK: FIXED_ATTENTION_CHUNK };
  const partial = prepareKernel(device, kernels, {
    kernel: split === 'fused' ? DECODE_ATTENTION_FUSED : split === 'adaptive' ? DECODE_ATTENTION : FIXED_ATTENTION,
    constants,
    params: packWords([
      ['u32', heads],
      ['u32', kvHeads],
      ['u32', headDim],
      ['u32', maxLen],
      ['u32', shape.qOffset ?? 0],
      ['u32', maxChunks],
      ['f32', shape.scale ?? 1 / Math.sqrt(headDim)],
      ['u32', rope?.kOffset ?? 0],
      ['u32', rope?.vOffset ?? 0],
      ['u32', split === 'fused' ? (shape.outOffset ?? 0) : 0],
    ]),
    // Without the fused rope the table bindings are read by no live code: bound to q (read-only).
    buffers: [
      buffers.step,
      buffers.q,
      buffers.kCache,
      buffers.vCache,
      partials,
      ...(chunked ? [rope?.cos ?? buffers.q, rope?.sin ?? buffers.q] : []),
      ...(split === 'fused' ? [buffers.out] : []),
    ],
    workgroupCount: heads,
  });
  if (split === 'fused') return new DecodeAttention(device, partial, undefined, partials, shape, split, maxChunks, targetWorkgroups);
  const combine = prepareKernel(device, kernels, {
    kernel: split === 'adaptive' ? DECODE_ATTENTION_COMBINE : FIXED_COMBINE,
    constants: split === 'adaptive' ? { WORKGROUP_SIZE: COMBINE_WORKGROUP_SIZE } : constants,
    params: new Uint32Array([heads, headDim, maxLen, maxChunks, shape.outOffset ?? 0, 0, 0, 0]),
    buffers: split === 'adaptive' ? [partials, buffers.out] : [buffers.step, partials, buffers.out],
    workgroupCount: heads,
  });
  return new DecodeAttention(device, partial, combine, partials, shape, split, maxChunks, targetWorkgroups);
}

/** 256 invocations where the device's limits hold the fused kernel's workgroup arrays, else 128. */
function fusedWorkgroupSize(device: GPUDevice): number {
  const fits =
    device.limits.maxComputeWorkgroupStorageSize >= FUSED_WG256_STORAGE_BYTES &&
    device.limits.maxComputeInvocationsPerWorkgroup >= FUSED_WORKGROUP_SIZE &&
    device.limits.maxComputeWorkgroupSizeX >= FUSED_WORKGROUP_SIZE;
  return fits ? FUSED_WORKGROUP_SIZE : WORKGROUP_SIZE;
}

/** Plain-TS reference (f64): softmax(q·Kᵀ · scale) · V over positions 0..p, per head. */
export function decodeAttentionReference(
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  shape: DecodeAttentionShape,
  position: number,
): Float64Array {
  const { heads, kvHeads, headDim, maxLen } = shape;
  const scale = shape.scale ?? 1 / Math.sqrt(headDim);
  const qOffset = shape.qOffset ?? 0;
  const out = new Float64Array(heads * headDim);
  for (let h = 0; h < heads; h++) {
    const kvh = Math.floor(h / (heads / kvHeads));
    const s: number[] = [];
    for (let j = 0; j <= position; j++) {
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += (q[qOffset + h * headDim + d] ?? 0) * (kCache[(kvh * maxLen + j) * headDim + d] ?? 0);
      s.push(dot * scale);
    }
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    for (let d = 0; d < headDim; d++) {
      let o = 0;
      for (let j = 0; j <= position; j++) o += (e[j] ?? 0) * (vCache[(kvh * maxLen + j) * headDim + d] ?? 0);
      out[h * headDim + d] = o / z;
    }
  }
  return out;
}
