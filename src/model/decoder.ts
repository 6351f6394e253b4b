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
import { llamaRopeTable } from './kernels/llama-rope-table';
import type { KvCache } from './kv-cache';
import type { OrtGraphSet } from './ort-graph-set';

export const DECODER_GRAPH = 'decoder';

/** cos/sin tables [capacity, headDim / 2] f32 on the GPU, shared by the ORT graph and our rope kernel. */
export interface RopeTables {
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
}

/** Uploads HF-rounded Llama RoPE tables for `capacityTokens` positions. */
export function uploadRopeTables(device: GPUDevice, spec: ModelSpec, capacityTokens: number): RopeTables {
  const t = spec.text;
  const { cos, sin } = llamaRopeTable({ theta: t.ropeTheta, headDim: t.headDim, maxLen: capacityTokens });
  return { cos: uploadBuffer(device, 'rope.cos', cos), sin: uploadBuffer(device, 'rope.sin', sin) };
}

export class OrtDecoder {
  private readonly fixed: Record<string, OrtTensor>;
  private readonly fetches: Record<string, OrtTensor>;

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
    this.fixed = {
      cos_cache: gpuTensor(ort, rope.cos, 'float32', [cache.capacityTokens, half]),
      sin_cache: gpuTensor(ort, rope.sin, 'float32', [cache.capacityTokens, half]),
    };
    this.fetches = { logits: gpuTensor(ort, logits, 'float32', [1, t.vocabSize]) };
    for (let l = 0; l < t.numLayers; l++) {
      const key = gpuTensor(ort, cache.keys[l] as GPUBuffer, 'float32', cache.dims);
      const value = gpuTensor(ort, cache.values[l] as GPUBuffer, 'float32', cache.dims);
      this.fixed[`past_key.${l}`] = key;
      this.fixed[`past_value.${l}`] = value;
      this.fetches[`present_key.${l}`] = key;
      this.fetches[`present_value.${l}`] = value;
    }
  }

  /**
   * Runs `rows` embedded rows (f32 [≥ rows, hiddenSize] in `embeds`) at cache positions
   * [past, past + rows): writes their keys/values and the last row's logits.
   */
  async run(embeds: GPUBuffer, rows: number, past: number): Promise<void> {
    const { ort } = this.graphs;
    const H = this.spec.text.hiddenSize;
    if (embeds.size < rows * H * 4) throw new SarashinaError('internal', `decoder: embeds buffer of ${embeds.size} bytes holds fewer than ${rows} rows.`);
    await this.graphs.run(
      DECODER_GRAPH,
      {
        ...this.fixed,
        inputs_embeds: gpuTensor(ort, embeds, 'float32', [1, rows, H]),
        seqlens_k: new ort.Tensor('int32', new Int32Array([past + rows - 1]), [1]),
        total_sequence_length: new ort.Tensor('int32', new Int32Array([past + rows]), []),
      },
      { fetches: this.fetches },
    );
  }
}
