/**
 * Token-embedding gather on the GPU, from an f32 table (shaders/embedding-gather.wgsl) or an int4 table
 * in MatMulNBits layout (shaders/embedding-gather-int4.wgsl). The ids come from a GPU buffer, so the
 * sampler's output feeds the next step without a CPU round trip.
 */
import gatherWgsl from '../../../shaders/embedding-gather.wgsl?raw';
import gatherInt4Wgsl from '../../../shaders/embedding-gather-int4.wgsl?raw';
import type { KernelCache, KernelSource } from '../../gpu/kernel';
import { SarashinaError } from '../../protocol/errors';
import { type PreparedKernel, prepareKernel } from './prepared-kernel';

export const EMBEDDING_GATHER: KernelSource = { name: 'embedding-gather', code: gatherWgsl };
export const EMBEDDING_GATHER_INT4: KernelSource = { name: 'embedding-gather-int4', code: gatherInt4Wgsl };

export interface EmbeddingShape {
  /** Tokens gathered (ids in the ids buffer). */
  readonly count: number;
  readonly hidden: number;
  readonly vocab: number;
}

export type EmbeddingTable =
  | { readonly kind: 'f32'; readonly table: GPUBuffer }
  | { readonly kind: 'int4'; readonly qweight: GPUBuffer; readonly scales: GPUBuffer };

/** Prepares out[t, :] = table[ids[t], :] (ids ≥ vocab give zero rows). */
export function prepareEmbeddingGather(
  device: GPUDevice,
  kernels: KernelCache,
  buffers: { readonly ids: GPUBuffer; readonly out: GPUBuffer },
  table: EmbeddingTable,
  shape: EmbeddingShape,
): PreparedKernel {
  const params = new Uint32Array([shape.count, shape.hidden, shape.vocab, 0]);
  if (table.kind === 'f32') {
    return prepareKernel(device, kernels, {
      kernel: EMBEDDING_GATHER,
      constants: { WORKGROUP_SIZE: 256 },
      params,
      buffers: [buffers.ids, table.table, buffers.out],
      workgroupCount: Math.ceil((shape.count * shape.hidden) / 256),
    });
  }
  if (shape.hidden % 32 !== 0) {
    throw new SarashinaError('invalid-model', `int4 embedding: hidden size ${shape.hidden} is not a multiple of 32. Re-export with an f32 or block-32 table.`, {
      hidden: shape.hidden,
    });
  }
  return prepareKernel(device, kernels, {
    kernel: EMBEDDING_GATHER_INT4,
    constants: { WORKGROUP_SIZE: 64 },
    params,
    buffers: [buffers.ids, table.qweight, table.scales, buffers.out],
    workgroupCount: Math.ceil((shape.count * shape.hidden) / 32 / 64),
  });
}
