/**
 * Decode attention over the static KV cache, split-K: pass 1 (shaders/decode-attention.wgsl) computes
 * each head's chunks of CHUNK positions in parallel, pass 2 (decode-attention-combine.wgsl) merges them,
 * so a long context spreads over heads × chunks workgroups instead of one per head.
 */
import attentionWgsl from '../../../shaders/decode-attention.wgsl?raw';
import combineWgsl from '../../../shaders/decode-attention-combine.wgsl?raw';
import { createStorageBuffer } from '../../gpu/gpu-buffers';
import type { KernelCache, KernelSource } from '../../gpu/kernel';
import { SarashinaError } from '../../protocol/errors';
import { linearWorkgroups, packWords, type PreparedKernel, prepareKernel } from './prepared-kernel';

export const DECODE_ATTENTION: KernelSource = { name: 'decode-attention', code: attentionWgsl };
export const DECODE_ATTENTION_COMBINE: KernelSource = { name: 'decode-attention-combine', code: combineWgsl };

/** Positions per pass-1 workgroup. */
export const ATTENTION_CHUNK = 64;
const WORKGROUP_SIZE = 128;
const MAX_HEAD_DIM = 256;

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

export class DecodeAttention {
  constructor(
    private readonly device: GPUDevice,
    private readonly partial: PreparedKernel,
    private readonly combine: PreparedKernel,
    private readonly partials: GPUBuffer,
    readonly shape: DecodeAttentionShape,
  ) {}

  /** Records both passes for the token at `position` (the value also written to the step uniform). */
  record(pass: GPUComputePassEncoder, position: number): void {
    const length = Math.min(position, this.shape.maxLen - 1) + 1;
    const chunks = Math.ceil(length / ATTENTION_CHUNK);
    this.partial.record(pass, linearWorkgroups(this.device, this.shape.heads * chunks));
    this.combine.record(pass);
  }

  destroy(): void {
    this.partial.destroy();
    this.combine.destroy();
    this.partials.destroy();
  }
}

export function prepareDecodeAttention(
  device: GPUDevice,
  kernels: KernelCache,
  buffers: DecodeAttentionBuffers,
  shape: DecodeAttentionShape,
): DecodeAttention {
  const { heads, kvHeads, headDim, maxLen } = shape;
  if (headDim % 4 !== 0 || headDim > MAX_HEAD_DIM || heads % kvHeads !== 0) {
    throw new SarashinaError(
      'invalid-model',
      `decode attention: head_dim ${headDim} must be a multiple of 4 and at most ${MAX_HEAD_DIM}, and heads ${heads} a multiple of kv heads ${kvHeads}. ` +
        'This model shape is not supported by the WGSL decode path; use the ORT decode path.',
      { headDim, heads, kvHeads },
    );
  }
  const maxChunks = Math.ceil(maxLen / ATTENTION_CHUNK);
  const partials = createStorageBuffer(device, 'decode-attention.partials', heads * maxChunks * (headDim + 2) * 4);
  const constants = { WORKGROUP_SIZE, CHUNK: ATTENTION_CHUNK };
  const partial = prepareKernel(device, kernels, {
    kernel: DECODE_ATTENTION,
    constants,
    params: packWords([
      ['u32', heads],
      ['u32', kvHeads],
      ['u32', headDim],
      ['u32', maxLen],
      ['u32', shape.qOffset ?? 0],
      ['u32', maxChunks],
      ['f32', shape.scale ?? 1 / Math.sqrt(headDim)],
      ['u32', 0],
    ]),
    buffers: [buffers.step, buffers.q, buffers.kCache, buffers.vCache, partials],
    workgroupCount: heads,
  });
  const combine = prepareKernel(device, kernels, {
    kernel: DECODE_ATTENTION_COMBINE,
    constants,
    params: new Uint32Array([heads, headDim, maxLen, maxChunks, shape.outOffset ?? 0, 0, 0, 0]),
    buffers: [buffers.step, partials, buffers.out],
    workgroupCount: heads,
  });
  return new DecodeAttention(device, partial, combine, partials, shape);
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
