/**
 * The Llama decoder through onnxruntime-web's `decoder` graph: prefill (any number of rows per run) and
 * the ORT decode baseline (one row). The graph's GroupQueryAttention reads and updates the static KV
 * cache in place (the same GPU tensors are fed as past_* and fetched as present_*), rotates q/k with our
 * cos/sin tables, and returns the last position's logits into our logits buffer.
 */
import { uploadBuffer } from '../gpu/gpu-buffers';
import { gpuTensor, type OrtTensor } from '../ort/ort-runtime';
import { SarashinaError } from '../protocol/errors';
import type { ModelSpec } from '../protocol/model-spec';
import { float16Bits } from '../gpu/float16-bits';
import { llamaRopeTable } from '../../shaders/decoder/decode-attention/llama-rope-table';
import type { KvCache } from './kv-cache';
import type { OrtGraphSet } from './ort-graph-set';

export const DECODER_GRAPH = 'decoder';

/** The decoder graph's activation, KV-cache and cos/sin type: float16 in q4f16 packages, else float32. */
export type DecoderDtype = 'float32' | 'float16';

/**
 * cos/sin tables [capacity, headDim / 2] on the GPU, shared by the ORT graph and our rope kernel
 * (f32; f16 for q4f16's graph, which only ORT reads).
 */
export interface RopeTables {
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  readonly dtype: DecoderDtype;
}

/** Uploads HF-rounded Llama RoPE tables for `capacityTokens` positions (rounded once more to f16 for 'float16'). */
export function uploadRopeTables(device: GPUDevice, spec: ModelSpec, capacityTokens: number, dtype: DecoderDtype = 'float32'): RopeTables {
  const t = spec.text;
  const { cos, sin } = llamaRopeTable({ theta: t.ropeTheta, headDim: t.headDim, maxLen: capacityTokens });
  const data = (v: Float32Array): Float32Array | Uint16Array => (dtype === 'float16' ? float16Bits(v) : v);
  return { cos: uploadBuffer(device, 'rope.cos', data(cos)), sin: uploadBuffer(device, 'rope.sin', data(sin)), dtype };
}

export class OrtDecoder {
  private readonly fixed: Record<string, OrtTensor>;
  private readonly fetches: Record<string, OrtTensor>;
  /** Type of inputs_embeds, the cache and cos/sin (the rope tables'). */
  readonly dtype: DecoderDtype;

  constructor(
    private readonly graphs: OrtGraphSet,
    private readonly spec: ModelSpec,
    cache: KvCache,
    rope: RopeTables,
    /** f32 [vocabSize]: the logits of the last row of every run land here. */
    readonly logits: GPUBuffer,
  ) {
    const t = spec.text;
    const { ort } = graphs;
    const half = t.headDim / 2;
    this.dtype = rope.dtype;
    this.fixed = {
      cos_cache: gpuTensor(ort, rope.cos, this.dtype, [cache.capacityTokens, half]),
      sin_cache: gpuTensor(ort, rope.sin, this.dtype, [cache.capacityTokens, half]),
    };
    // Logits are float32 in every variant (the f16 graph casts them).
    this.fetches = { logits: gpuTensor(ort, logits, 'float32', [1, t.vocabSize]) };
    for (let l = 0; l < t.numLayers; l++) {
      const key = gpuTensor(ort, cache.keys[l] as GPUBuffer, this.dtype, cache.dims);
      const value = gpuTensor(ort, cache.values[l] as GPUBuffer, this.dtype, cache.dims);
      this.fixed[`past_key.${l}`] = key;
      this.fixed[`past_value.${l}`] = value;
      this.fetches[`present_key.${l}`] = key;
      this.fetches[`present_value.${l}`] = value;
    }
  }

  /**
   * Runs `rows` embedded rows ([≥ rows, hiddenSize] of `dtype` in `embeds`) at cache positions
   * [past, past + rows): writes their keys/values and the last row's logits.
   */
  async run(embeds: GPUBuffer, rows: number, past: number): Promise<void> {
    const { ort } = this.graphs;
    const H = this.spec.text.hiddenSize;
    if (embeds.size < rows * H * (this.dtype === 'float16' ? 2 : 4)) throw new SarashinaError('internal', `decoder: embeds buffer of ${embeds.size} bytes holds fewer than ${rows} rows.`);
    await this.graphs.run(
      DECODER_GRAPH,
      {
        ...this.fixed,
        inputs_embeds: gpuTensor(ort, embeds, this.dtype, [1, rows, H]),
        seqlens_k: new ort.Tensor('int32', new Int32Array([past + rows - 1]), [1]),
        total_sequence_length: new ort.Tensor('int32', new Int32Array([past + rows]), []),
      },
      { fetches: this.fetches },
    );
  }
}
