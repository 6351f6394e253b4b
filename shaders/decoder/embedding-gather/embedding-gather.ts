/**
 * Token-embedding gather on the GPU (embedding-gather.wgsl) from the table as the exporter writes it: f32 (fp32
 * packages) or f16 (q4 packages), rows out as f32 or (f16 table, q4f16's activations) f16. The ids come from a GPU
 * buffer, so the sampler's output feeds the next step without a CPU round trip. A table stored as row parts
 * (src/protocol/weight-parts.ts) is gathered by one dispatch per part (`firstRow`, `lastPart`).
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import embeddingGatherWgsl from './embedding-gather.wgsl?raw';
import { float16Value } from '../../../src/gpu/float16-bits';

export const EMBEDDING_GATHER = defineKernel({
  name: 'embedding-gather',
  code: embeddingGatherWgsl,
  entryPoints: ['main_f32_to_f32', 'main_f16_to_f32', 'main_f16_to_f16'],
  constants: ['WORKGROUP_SIZE'],
  params: new UniformStruct('Params', { count: 'u32', hidden: 'u32', vocab: 'u32', first_row: 'u32', claim_end: 'u32' }),
  bindings: ['ids', 'table', 'out'],
});

const WORKGROUP_SIZE = 256;

export interface EmbeddingShape {
  /** Tokens gathered (ids in the ids buffer). */
  readonly count: number;
  readonly hidden: number;
  /** Rows of the bound table (of this part, for a table stored as row parts). */
  readonly vocab: number;
  /** The id of the bound table's row 0 (a row part's first row). Default 0. */
  readonly firstRow?: number;
  /**
   * Whether this is the table's last part (default true): it also writes the zero rows of ids past the vocabulary.
   * Other parts write only the rows of ids in [firstRow, firstRow + vocab) and leave the rest of out alone.
   */
  readonly lastPart?: boolean;
}

/** The table's element type and the rows' (an f32 table gives f32 rows). */
export type EmbeddingGatherFormat = { readonly kind: 'f32'; readonly out: 'f32' } | { readonly kind: 'f16'; readonly out: 'f32' | 'f16' };

export interface EmbeddingGatherBuffers {
  /** u32 [count]. */
  readonly ids: GPUBuffer;
  /** [vocab, hidden] of the format's kind. */
  readonly table: GPUBuffer;
  /** [count, hidden] of the format's out type. */
  readonly out: GPUBuffer;
}

const BYTES = { f32: 4, f16: 2 } as const;

/**
 * Prepares out[t, :] = table[ids[t] − firstRow, :] for the ids in this part's range (ids past the vocabulary give
 * zero rows from the last part); buffer sizes are checked against the shape.
 */
export function prepareEmbeddingGather(kernels: KernelCache, buffers: EmbeddingGatherBuffers, format: EmbeddingGatherFormat, shape: EmbeddingShape): KernelDispatch {
  const { count, hidden, vocab } = shape;
  const firstRow = shape.firstRow ?? 0;
  if (format.kind === 'f16' && hidden % 2 !== 0) {
    throw new SarashinaError('invalid-model', `embedding gather: hidden size ${hidden} of an f16 table must be even (two f16 per word). Re-export the package.`, { hidden });
  }
  const need: [string, GPUBuffer, number][] = [
    ['ids', buffers.ids, count * 4],
    ['table', buffers.table, vocab * hidden * BYTES[format.kind]],
    ['out', buffers.out, count * hidden * BYTES[format.out]],
  ];
  for (const [name, buffer, sizeBytes] of need) {
    if (buffer.size < sizeBytes) {
      throw new SarashinaError('internal', `embedding gather (count=${count}, hidden=${hidden}, vocab=${vocab}): buffer ${name} holds ${buffer.size} bytes, needs ${sizeBytes}.`, {
        buffer: name,
        sizeBytes: buffer.size,
        neededBytes: sizeBytes,
      });
    }
  }
  // f32 tables: one element per invocation; f16 tables: one word (two elements).
  const perInvocation = format.kind === 'f16' ? 2 : 1;
  return kernels.prepare(EMBEDDING_GATHER, {
    entryPoint: `main_${format.kind}_to_${format.out}`,
    constants: { WORKGROUP_SIZE: Math.min(WORKGROUP_SIZE, kernels.device.limits.maxComputeInvocationsPerWorkgroup) },
    params: { count, hidden, vocab, first_row: firstRow, claim_end: shape.lastPart === false ? firstRow + vocab : 0xffffffff },
    buffers,
    workgroups: Math.ceil((count * hidden) / perInvocation / WORKGROUP_SIZE),
  });
}

/**
 * Plain-TS reference: the gathered rows [count, hidden] as numbers (f32 values, or f16 values decoded; with
 * out 'f16' the rows are the f16 bit patterns). `table` is f32 values or f16 bit patterns per the format.
 */
export function embeddingGatherReference(table: Float32Array | Uint16Array, ids: Uint32Array, format: EmbeddingGatherFormat, shape: EmbeddingShape): Float32Array | Uint16Array {
  const { count, hidden, vocab } = shape;
  const out = format.out === 'f16' ? new Uint16Array(count * hidden) : new Float32Array(count * hidden);
  for (let t = 0; t < count; t++) {
    const id = ids[t] ?? 0;
    if (id >= vocab) continue; // zero row
    for (let d = 0; d < hidden; d++) {
      const v = table[id * hidden + d] ?? 0;
      out[t * hidden + d] = format.kind === 'f16' && format.out === 'f32' ? float16Value(v) : v;
    }
  }
  return out;
}
