/**
 * Llama RoPE for one decode token, fused with the KV-cache append (shaders/rope.wgsl): q is rotated in
 * place inside the packed qkv buffer, rotated k and plain v are written to row p of the BNSH caches
 * (the layout onnxruntime's GroupQueryAttention uses for its static past/present buffers).
 */
import ropeWgsl from '../../../shaders/rope.wgsl?raw';
import type { KernelCache, KernelSource } from '../../gpu/kernel';
import { SarashinaError } from '../../protocol/errors';
import { type PreparedKernel, prepareKernel } from './prepared-kernel';

export const ROPE_APPEND: KernelSource = { name: 'rope', code: ropeWgsl };
const WORKGROUP_SIZE = 64;

export interface RopeShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** KV-cache capacity in positions (the S of BNSH). */
  readonly maxLen: number;
  /** f32 element offsets of q, k, v inside the qkv buffer (default: packed q | k | v). */
  readonly qOffset?: number;
  readonly kOffset?: number;
  readonly vOffset?: number;
}

export interface RopeBuffers {
  readonly qkv: GPUBuffer;
  /** The DecodeStepUniform buffer (position p). */
  readonly step: GPUBuffer;
  readonly kCache: GPUBuffer;
  readonly vCache: GPUBuffer;
  /** llamaRopeTable() for at least maxLen positions. */
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
}

export function ropeOffsets(shape: RopeShape): { qOffset: number; kOffset: number; vOffset: number } {
  const qOffset = shape.qOffset ?? 0;
  const kOffset = shape.kOffset ?? qOffset + shape.heads * shape.headDim;
  const vOffset = shape.vOffset ?? kOffset + shape.kvHeads * shape.headDim;
  return { qOffset, kOffset, vOffset };
}

/** Prepares the rope + append dispatch. Positions p ≥ maxLen are ignored by the kernel (the caller's bound). */
export function prepareRopeAppend(device: GPUDevice, kernels: KernelCache, buffers: RopeBuffers, shape: RopeShape): PreparedKernel {
  if (shape.headDim % 2 !== 0) throw new RangeError(`rope: headDim must be even, got ${shape.headDim}`);
  const cacheBytes = shape.kvHeads * shape.maxLen * shape.headDim * 4;
  for (const [name, buffer] of [['kCache', buffers.kCache], ['vCache', buffers.vCache]] as const) {
    if (buffer.size < cacheBytes) {
      throw new SarashinaError('internal', `rope: ${name} holds ${buffer.size} bytes, the cache [${shape.kvHeads}, ${shape.maxLen}, ${shape.headDim}] f32 needs ${cacheBytes}.`, {
        buffer: name,
        sizeBytes: buffer.size,
        neededBytes: cacheBytes,
      });
    }
  }
  const { qOffset, kOffset, vOffset } = ropeOffsets(shape);
  const invocations = (shape.heads + shape.kvHeads) * (shape.headDim / 2);
  return prepareKernel(device, kernels, {
    kernel: ROPE_APPEND,
    constants: { WORKGROUP_SIZE },
    params: new Uint32Array([shape.heads, shape.kvHeads, shape.headDim, shape.maxLen, qOffset, kOffset, vOffset, 0]),
    buffers: [buffers.step, buffers.qkv, buffers.kCache, buffers.vCache, buffers.cos, buffers.sin],
    workgroupCount: Math.ceil(invocations / WORKGROUP_SIZE),
  });
}

/**
 * Plain-TS reference (f64 arithmetic on the f32 tables): returns the rotated qkv and writes row p of
 * kCache/vCache (in place).
 */
export function ropeAppendReference(
  qkv: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  table: { cos: Float32Array; sin: Float32Array },
  shape: RopeShape,
  position: number,
): Float64Array {
  const out = Float64Array.from(qkv);
  const half = shape.headDim / 2;
  const { qOffset, kOffset, vOffset } = ropeOffsets(shape);
  const rotate = (src: number, write: (i: number, v: number) => void): void => {
    for (let i = 0; i < half; i++) {
      const c = table.cos[position * half + i] ?? 0;
      const s = table.sin[position * half + i] ?? 0;
      const a = qkv[src + i] ?? 0;
      const b = qkv[src + i + half] ?? 0;
      write(i, a * c - b * s);
      write(i + half, b * c + a * s);
    }
  };
  for (let h = 0; h < shape.heads; h++) rotate(qOffset + h * shape.headDim, (i, v) => (out[qOffset + h * shape.headDim + i] = v));
  for (let h = 0; h < shape.kvHeads; h++) {
    const dst = (h * shape.maxLen + position) * shape.headDim;
    rotate(kOffset + h * shape.headDim, (i, v) => (kCache[dst + i] = v));
    for (let i = 0; i < shape.headDim; i++) vCache[dst + i] = qkv[vOffset + h * shape.headDim + i] ?? 0;
  }
  return out;
}
