/**
 * Decode attention over the static KV cache (decode-attention.wgsl), one dispatch per layer: the token's RoPE and
 * KV-cache append are fused in front, and the attention is split-K — each head's chunks of positions run in
 * parallel, so a context spreads over heads × chunks workgroups instead of one per head — with the chunks merged
 * inside the same dispatch by the last workgroup of each head to finish. The chunk count follows the position
 * (`chooseAttentionChunks`): short contexts get short chunks so the GPU is still full. The cache is f32 (fp32, q4f32)
 * or f16 (q4f16: ORT's f16 cache, read and written in place); one descriptor per KV-cache prelude, f32 arithmetic.
 */
import { createStorageBuffer } from '../../../src/gpu/gpu-buffers';
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import decodeAttentionWgsl from './decode-attention.wgsl?raw';
import kvF16Wgsl from './kv-f16.wgsl?raw';
import kvF32Wgsl from './kv-f32.wgsl?raw';

/** Element type of the KV cache (f16 only in q4f16 packages). */
export type KvDtype = 'float32' | 'float16';

export const KV_DTYPES: readonly KvDtype[] = ['float32', 'float16'];

const KV_PRELUDE: Readonly<Record<KvDtype, string>> = { float32: kvF32Wgsl, float16: kvF16Wgsl };
const KV_BYTES: Readonly<Record<KvDtype, number>> = { float32: 4, float16: 2 };

const decodeAttentionDescriptor = (kv: KvDtype) =>
  defineKernel({
    name: `decode-attention/${kv === 'float16' ? 'f16' : 'f32'}-kv`,
    code: `${KV_PRELUDE[kv]}\n${decodeAttentionWgsl}`,
    constants: ['WORKGROUP_SIZE', 'HEAD_DIM_4'],
    params: new UniformStruct('Params', {
      heads: 'u32',
      kv_heads: 'u32',
      head_dim: 'u32',
      max_len: 'u32',
      q_offset: 'u32',
      max_chunks: 'u32',
      scale: 'f32',
      k_offset: 'u32',
      v_offset: 'u32',
      out_offset: 'u32',
    }),
    bindings: ['step', 'qkv', 'k_cache', 'v_cache', 'partials', 'cos_tab', 'sin_tab', 'out'],
  });

/** The decode attention's descriptor per KV-cache type: the KV prelude, then decode-attention.wgsl. */
export const DECODE_ATTENTION = { float32: decodeAttentionDescriptor('float32'), float16: decodeAttentionDescriptor('float16') } as const;

/**
 * Invocations per workgroup: 256 where the device allows it (faster on the H200, bench/BENCH.md "Decode-step
 * kernels"). Its workgroup arrays take ≈ 17.1 KiB, over WebGPU's default 16 KiB, so 128 is the fallback.
 */
const WORKGROUP_SIZE = 256;
const WG256_STORAGE_BYTES = 18 * 1024;
const FALLBACK_WORKGROUP_SIZE = 128;
const MAX_HEAD_DIM = 256;
/** Most positions per chunk and most chunks per head (MAX_CHUNK in the shader; MAX_CHUNKS sizes the merge). */
const MAX_CHUNK = 256;
const MAX_CHUNKS = 256;
/** Chunk lengths tried, shortest first. */
const CHUNK_LENGTHS = [32, 64, 128, MAX_CHUNK];
/**
 * Workgroups per layer the chunking stays within: about 2 per SM of the H200, where 256 picked the fastest
 * chunk length at every measured position (bench/BENCH.md "Decode-step kernels").
 */
export const TARGET_WORKGROUPS = 256;
/** Longest context the chunking covers (MAX_CHUNK · MAX_CHUNKS). */
export const MAX_ATTENTION_CONTEXT = MAX_CHUNK * MAX_CHUNKS;

/**
 * Chunks per head for `length` attended positions (p + 1): the shortest chunk length (32, 64, 128, 256) whose
 * heads × chunks stays within TARGET_WORKGROUPS and chunks within MAX_CHUNKS, else 256-position chunks.
 * Pure; length ≤ MAX_ATTENTION_CONTEXT.
 */
export function chooseAttentionChunks(length: number, heads: number): number {
  for (const chunkLength of CHUNK_LENGTHS) {
    const chunks = Math.ceil(length / chunkLength);
    if ((heads * chunks <= TARGET_WORKGROUPS && chunks <= MAX_CHUNKS) || chunkLength === MAX_CHUNK) return Math.max(1, chunks);
  }
  return Math.max(1, Math.ceil(length / MAX_CHUNK));
}

/** The most chunks `chooseAttentionChunks` returns for any length up to maxLen (the partials' capacity). */
export function maxAttentionChunks(maxLen: number, heads: number): number {
  let most = 1;
  for (let length = 1; length <= maxLen; length++) most = Math.max(most, chooseAttentionChunks(length, heads));
  return most;
}

export interface DecodeAttentionShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** KV-cache capacity in positions (the S of BNSH). */
  readonly maxLen: number;
  /** f32 offsets of this token's q, k and v inside the qkv buffer. Default: packed q | k | v from 0. */
  readonly qOffset?: number;
  readonly kOffset?: number;
  readonly vOffset?: number;
  /** f32 offset of the output's first element. Default 0. */
  readonly outOffset?: number;
  /** Softmax scale; default 1 / sqrt(headDim). */
  readonly scale?: number;
  /** Element type of kCache and vCache. Default 'float32'. */
  readonly kvDtype?: KvDtype;
}

export interface DecodeAttentionBuffers {
  /** f32: the token's q, k and v before RoPE (the qkv GEMV's output), at the shape's offsets. */
  readonly qkv: GPUBuffer;
  /** DecodeStepUniform buffer: the query's position p (keys 0..p attended; row p of the caches written). */
  readonly step: GPUBuffer;
  /** [kvHeads, maxLen, headDim] each of the shape's kvDtype (BNSH, keys after RoPE). */
  readonly kCache: GPUBuffer;
  readonly vCache: GPUBuffer;
  /** llamaRopeTable() cos / sin: f32 [≥ maxLen, headDim / 2]. */
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  /** f32 [heads · headDim] at outOffset (never the qkv buffer). */
  readonly out: GPUBuffer;
}

/** The shape's q, k, v offsets with their defaults (packed q | k | v from 0). */
export function qkvOffsets(shape: DecodeAttentionShape): { qOffset: number; kOffset: number; vOffset: number } {
  const qOffset = shape.qOffset ?? 0;
  const kOffset = shape.kOffset ?? qOffset + shape.heads * shape.headDim;
  const vOffset = shape.vOffset ?? kOffset + shape.kvHeads * shape.headDim;
  return { qOffset, kOffset, vOffset };
}

export class DecodeAttention {
  /** The workgroup grid (chunks, heads, 1), rewritten in place each step: records allocate nothing. */
  private readonly grid: [number, number, number];

  constructor(
    private readonly dispatch: KernelDispatch,
    /** Per-chunk partials and per-head arrival counters, owned by this dispatch. */
    private readonly partials: GPUBuffer,
    readonly shape: DecodeAttentionShape,
    /** The partials' capacity in chunks per head. */
    readonly maxChunks: number,
  ) {
    this.grid = [1, shape.heads, 1];
  }

  /**
   * Records the dispatch for the token at `position` (the value also written to the step uniform). `chunks`
   * overrides `chooseAttentionChunks` (tests and the bench compare chunkings), clamped to what the partials hold
   * and to ≥ ceil(length / 256).
   */
  record(pass: GPUComputePassEncoder, position: number, options?: { chunks?: number }): void {
    const length = Math.min(position, this.shape.maxLen - 1) + 1;
    const wanted = options?.chunks ?? chooseAttentionChunks(length, this.shape.heads);
    this.grid[0] = Math.max(Math.ceil(length / MAX_CHUNK), Math.min(wanted, this.maxChunks, length));
    this.dispatch.record(pass, this.grid);
  }

  destroy(): void {
    this.dispatch.destroy();
    this.partials.destroy();
  }
}

/**
 * Prepares the layer's attention. Positions p ≥ maxLen are neither rotated nor written to the caches (attention
 * then covers the maxLen cached positions).
 * options.maxChunks: the partials' capacity in chunks per head (default the most the chooser uses; ≤ 256).
 * options.workgroupSize: invocations per workgroup (default 256 where the device's workgroup storage and
 * invocation limits allow it, else 128; tests force the fallback).
 */
export function prepareDecodeAttention(
  kernels: KernelCache,
  buffers: DecodeAttentionBuffers,
  shape: DecodeAttentionShape,
  options: { maxChunks?: number; workgroupSize?: 128 | 256 } = {},
): DecodeAttention {
  const { device } = kernels;
  const { heads, kvHeads, headDim, maxLen } = shape;
  if (maxLen > MAX_ATTENTION_CONTEXT) {
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
  const { qOffset, kOffset, vOffset } = qkvOffsets(shape);
  const outOffset = shape.outOffset ?? 0;
  const kvDtype = shape.kvDtype ?? 'float32';
  const cacheBytes = kvHeads * maxLen * headDim * KV_BYTES[kvDtype];
  const tableBytes = maxLen * (headDim / 2) * 4;
  const need: [string, GPUBuffer, number][] = [
    ['qkv', buffers.qkv, Math.max(qOffset + heads * headDim, kOffset + kvHeads * headDim, vOffset + kvHeads * headDim) * 4],
    ['kCache', buffers.kCache, cacheBytes],
    ['vCache', buffers.vCache, cacheBytes],
    ['cos', buffers.cos, tableBytes],
    ['sin', buffers.sin, tableBytes],
    ['out', buffers.out, (outOffset + heads * headDim) * 4],
  ];
  for (const [name, buffer, sizeBytes] of need) {
    if (buffer.size < sizeBytes) {
      throw new SarashinaError(
        'internal',
        `decode attention (heads=${heads}, kv heads=${kvHeads}, head_dim=${headDim}, max_len=${maxLen}): buffer ${name} holds ${buffer.size} bytes, needs ${sizeBytes}.`,
        { buffer: name, sizeBytes: buffer.size, neededBytes: sizeBytes },
      );
    }
  }
  const maxChunks = Math.min(MAX_CHUNKS, Math.max(options.maxChunks ?? 0, maxAttentionChunks(maxLen, heads)));
  // The partials, then one u32 arrival counter per head (zero-initialized; the merging workgroup resets it).
  const partials = createStorageBuffer(device, 'decode-attention.partials', (heads * maxChunks * (headDim + 2) + heads) * 4);
  const dispatch = kernels.prepare(DECODE_ATTENTION[kvDtype], {
    constants: { WORKGROUP_SIZE: options.workgroupSize ?? defaultWorkgroupSize(device), HEAD_DIM_4: headDim / 4 },
    params: {
      heads,
      kv_heads: kvHeads,
      head_dim: headDim,
      max_len: maxLen,
      q_offset: qOffset,
      max_chunks: maxChunks,
      scale: shape.scale ?? 1 / Math.sqrt(headDim),
      k_offset: kOffset,
      v_offset: vOffset,
      out_offset: outOffset,
    },
    buffers: {
      step: buffers.step,
      qkv: buffers.qkv,
      k_cache: buffers.kCache,
      v_cache: buffers.vCache,
      partials,
      cos_tab: buffers.cos,
      sin_tab: buffers.sin,
      out: buffers.out,
    },
    workgroups: [1, heads, 1],
  });
  return new DecodeAttention(dispatch, partials, shape, maxChunks);
}

/** 256 invocations where the device's limits hold the kernel's workgroup arrays, else 128. */
function defaultWorkgroupSize(device: GPUDevice): number {
  const fits =
    device.limits.maxComputeWorkgroupStorageSize >= WG256_STORAGE_BYTES &&
    device.limits.maxComputeInvocationsPerWorkgroup >= WORKGROUP_SIZE &&
    device.limits.maxComputeWorkgroupSizeX >= WORKGROUP_SIZE;
  return fits ? WORKGROUP_SIZE : FALLBACK_WORKGROUP_SIZE;
}
