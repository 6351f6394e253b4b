/**
 * Token embeddings on the GPU: ids → rows of `llm.model.embed_tokens.weight` (f32 in fp32 packages, f16 in
 * q4 packages) as f32 rows (f16 rows for q4f16's f16 activations), with image features copied over the rows of
 * each FeatureSpan. Prefill uploads the ids; the decode step reads its id from a GPU buffer (the sampler's output)
 * so the token never goes through the CPU. A table stored as row parts (an 8B f16 table is 839 MB, over the 128 MiB
 * binding WebGPU guarantees) is gathered by one dispatch per part, each writing the rows of the ids in its range.
 */
import { type EmbeddingGatherFormat, prepareEmbeddingGather } from '../../shaders/decoder/embedding-gather/embedding-gather';
import { createStorageBuffer } from '../gpu/gpu-buffers';
import type { KernelCache, KernelDispatch } from '../gpu/kernel';
import { SarashinaError } from '../protocol/errors';
import type { ModelSpec } from '../protocol/model-spec';
import type { ModelWeights } from './model-weights';
import type { FeatureSpan, ImageFeatures } from './vision-language-model';

export const EMBED_TOKENS_WEIGHT = 'llm.model.embed_tokens.weight';

export type EmbeddingDtype = 'float32' | 'float16';

export interface TokenEmbedderOptions {
  /** Most ids one `embed` call takes (the prefill chunk). */
  readonly maxRows: number;
  /**
   * Element type of the rows (the decoder graph's activations): 'float32' (fp32, q4f32; default) or
   * 'float16' (q4f16: f16 table rows copied as they are, f16 image features).
   */
  readonly dtype?: EmbeddingDtype;
}

/** Bytes of one element of features or rows of this type. */
function elementBytes(dtype: EmbeddingDtype): number {
  return dtype === 'float16' ? 2 : 4;
}

/** The element type of image features: float32 unless they say otherwise (VisionFeatures.dtype). */
export function featureDtype(features: ImageFeatures): EmbeddingDtype {
  return 'dtype' in features && features.dtype === 'float16' ? 'float16' : 'float32';
}

/**
 * Checks that every span lies inside the `length` prefilled ids and inside its features. Bad spans →
 * 'invalid-request' naming the span and the bound it breaks.
 */
export function validateFeatureSpans(length: number, spans: readonly FeatureSpan[], hiddenSize: number, dtype: EmbeddingDtype = 'float32'): void {
  spans.forEach((s, i) => {
    const bytes = elementBytes(dtype);
    const problem =
      !Number.isInteger(s.start) || !Number.isInteger(s.length) || !Number.isInteger(s.featureRow) || s.start < 0 || s.length < 0 || s.featureRow < 0
        ? 'has a negative or fractional field'
        : s.start + s.length > length
          ? `ends at id ${s.start + s.length}, past the ${length} prefilled ids`
          : s.featureRow + s.length > s.features.rows
            ? `needs feature rows [${s.featureRow}, ${s.featureRow + s.length}) but the features hold ${s.features.rows}`
            : featureDtype(s.features) !== dtype
              ? `has ${featureDtype(s.features)} features but the decoder takes ${dtype} rows`
              : s.features.buffer.size < s.features.rows * hiddenSize * bytes
                ? `has a feature buffer of ${s.features.buffer.size} bytes, less than ${s.features.rows} rows × ${hiddenSize} × ${bytes} bytes`
                : null;
    if (problem) {
      throw new SarashinaError('invalid-request', `Feature span ${i} (start ${s.start}, length ${s.length}, featureRow ${s.featureRow}) ${problem}. Build spans from the prompt's <|file|> runs.`, {
        span: i,
        start: s.start,
        length: s.length,
        featureRow: s.featureRow,
      });
    }
  });
}

export class TokenEmbedder {
  private disposed = false;
  private readonly prepared: KernelDispatch[] = [];
  private readonly gather: KernelDispatch[];

  private constructor(
    private readonly device: GPUDevice,
    private readonly kernels: KernelCache,
    private readonly weights: Pick<ModelWeights, 'rowParts'>,
    private readonly spec: ModelSpec,
    readonly maxRows: number,
    readonly dtype: EmbeddingDtype,
    /** u32 [maxRows]: the ids of the current embed call. */
    private readonly ids: GPUBuffer,
    /** [maxRows, hiddenSize] of `dtype`: the rows of the current embed call. */
    readonly rows: GPUBuffer,
    /** u32 [1]: the decode step's id, copied from the caller's token buffer. */
    private readonly tokenId: GPUBuffer,
  ) {
    this.gather = this.prepareGather(ids, rows, maxRows);
  }

  static create(device: GPUDevice, kernels: KernelCache, weights: Pick<ModelWeights, 'rowParts'>, spec: ModelSpec, options: TokenEmbedderOptions): TokenEmbedder {
    const { maxRows } = options;
    const dtype = options.dtype ?? 'float32';
    const H = spec.text.hiddenSize;
    return new TokenEmbedder(
      device,
      kernels,
      weights,
      spec,
      maxRows,
      dtype,
      createStorageBuffer(device, 'embed.ids', maxRows * 4),
      createStorageBuffer(device, 'embed.rows', maxRows * H * elementBytes(dtype)),
      createStorageBuffer(device, 'embed.token-id', 4),
    );
  }

  /**
   * A gather of `count` ids from `ids` into `out` (rows of `dtype`) for whichever table the package stores: one
   * dispatch per row part of the table (one for a table stored whole), recorded in order into one pass.
   */
  private prepareGather(ids: GPUBuffer, out: GPUBuffer, count: number, dtype: EmbeddingDtype = this.dtype): KernelDispatch[] {
    const t = this.spec.text;
    const parts = this.weights.rowParts(EMBED_TOKENS_WEIGHT);
    const rows = parts.reduce((n, p) => n + p.rows, 0);
    if (rows !== t.vocabSize) throw unsupportedTable(`${rows} rows for a vocabulary of ${t.vocabSize}`);
    const kernels = parts.map(({ weight: table, firstRow, rows }, i) => {
      if (table.layout !== 'row-major' || (table.dtype !== 'float32' && table.dtype !== 'float16')) throw unsupportedTable(`${table.dtype} ${table.layout}`);
      if (dtype === 'float16' && table.dtype !== 'float16') throw unsupportedTable(`${table.dtype} ${table.layout} for f16 activations`);
      const format: EmbeddingGatherFormat = table.dtype === 'float32' ? { kind: 'f32', out: 'f32' } : { kind: 'f16', out: dtype === 'float16' ? 'f16' : 'f32' };
      const shape = { count, hidden: t.hiddenSize, vocab: rows, firstRow, lastPart: i === parts.length - 1 };
      return prepareEmbeddingGather(this.kernels, { ids, table: table.buffer, out }, format, shape);
    });
    this.prepared.push(...kernels);
    return kernels;
  }

  /**
   * Embeds `ids` (at most maxRows; already validated against the vocabulary) into `rows`, then copies
   * the features of every span overlapping [offset, offset + ids.length) of the prefill call over their
   * rows. Submitted on the device queue; returns `rows` (valid until the next call).
   */
  embed(ids: Int32Array, spans: readonly FeatureSpan[], offset: number): GPUBuffer {
    if (ids.length > this.maxRows || ids.length === 0) throw new SarashinaError('internal', `TokenEmbedder.embed: ${ids.length} ids, expected 1..${this.maxRows}.`);
    this.device.queue.writeBuffer(this.ids, 0, ids.buffer, ids.byteOffset, ids.byteLength);
    const rowBytes = this.spec.text.hiddenSize * elementBytes(this.dtype);
    const encoder = this.device.createCommandEncoder({ label: 'embed' });
    const pass = encoder.beginComputePass({ label: 'embed' });
    // Always maxRows ids: rows past ids.length hold stale (valid) ids and are never read.
    for (const k of this.gather) k.record(pass);
    pass.end();
    const end = offset + ids.length;
    for (const span of spans) {
      const from = Math.max(span.start, offset);
      const to = Math.min(span.start + span.length, end);
      if (to <= from) continue;
      encoder.copyBufferToBuffer(span.features.buffer, (span.featureRow + from - span.start) * rowBytes, this.rows, (from - offset) * rowBytes, (to - from) * rowBytes);
    }
    this.device.queue.submit([encoder.finish()]);
    return this.rows;
  }

  /**
   * Prepares the decode step's gather: one row for the id `copyTokenId` placed, written to `out` [hiddenSize] of
   * `dtype` (default the embedder's; our decode kernels take f32 rows whatever the package's activations). Record
   * every returned dispatch, in order (one per row part of the table).
   */
  prepareTokenGather(out: GPUBuffer, dtype: EmbeddingDtype = this.dtype): KernelDispatch[] {
    return this.prepareGather(this.tokenId, out, 1, dtype);
  }

  /** Records the copy of the id (u32 at offset 0 of `tokenBuffer`) that the token gather reads; outside any pass. */
  copyTokenId(encoder: GPUCommandEncoder, tokenBuffer: GPUBuffer): void {
    encoder.copyBufferToBuffer(tokenBuffer, 0, this.tokenId, 0, 4);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const k of this.prepared) k.destroy();
    for (const b of [this.ids, this.rows, this.tokenId]) b.destroy();
  }
}

function unsupportedTable(what: string): SarashinaError {
  return new SarashinaError('invalid-model', `The embedding table ${EMBED_TOKENS_WEIGHT} is stored as ${what}, which the engine cannot gather. Re-export the package.`, {
    weight: EMBED_TOKENS_WEIGHT,
  });
}
