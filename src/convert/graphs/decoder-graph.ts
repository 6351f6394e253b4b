/**
 * The Llama decoder as one ONNX graph with onnxruntime's WebGPU contrib ops (all verified on the
 * WebGPU EP, ../shared/reference/ort-web-probe.md §2):
 *
 *   inputs_embeds [1, S, H] → per layer:
 *     SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization (residual adds fused into the norms)
 *     q, k, v, o, gate, up, down: MatMulNBits (int4 block 32; q4f32 / q4f16) or Gemm (fp32)
 *     GroupQueryAttention (num_heads, kv_num_heads, do_rotary = 1 with cos/sin cache inputs, static
 *       shared past/present KV cache of `max_sequence_length` rows, seqlens_k / total_sequence_length)
 *     SwiGLU as Sigmoid · Mul
 *   final norm and lm_head on the LAST position only → logits [1, vocab] (always f32).
 *
 * Feeds (probe-verified semantics): seqlens_k int32 [1] = past + S − 1; total_sequence_length int32 []
 * = past + S (a CPU tensor unless graph capture is on); cos_cache / sin_cache [max_sequence_length,
 * D/2] (the Llama RoPE tables, rotate-half). Pass the same GPU tensors as past_key.{i} feeds and
 * present_key.{i} fetches so ORT updates the cache in place. Prefill (past 0), a follow-up prompt
 * (past > 0, S > 1) and a decode step (S = 1) all run this graph.
 */
import type { ModelSpec } from '../../protocol/model-spec';
import type { Precision } from '../../protocol/manifest';
import { int4BlocksPerRow } from '../../protocol/int4-layout';
import { scalesName, WEIGHTS } from '../../protocol/weight-names';
import { precisionDtypes } from '../../protocol/precision-dtypes';
import { type FloatType, GraphBuilder, type ModelGraph } from './graph-builder';
import { type RowPartsOf, rowPartLinear, silu } from './graph-layers';

export interface DecoderGraphOptions {
  readonly precision: Precision;
  /** MatMulNBits accuracy_level: 4 lets ORT quantize activations to int8 (fast; ~1e-3 relative), 0 keeps them. */
  readonly accuracyLevel?: number;
  /** Row parts of the linears stored split (default: every weight whole). */
  readonly rowParts?: RowPartsOf;
}

export const MATMULNBITS_BLOCK_SIZE = 32;

/** Activation type of a precision variant (the graphs' I/O and arithmetic type). */
export function floatTypeOf(precision: Precision): FloatType {
  return precisionDtypes(precision).activation;
}

/**
 * Linear y = x · Wᵀ for weight `name` [outDim, inDim]: Gemm in fp32, MatMulNBits in q4 variants; one per row part
 * and a Concat when the weight is stored split.
 */
function decoderLinear(b: GraphBuilder, x: string, name: string, inDim: number, outDim: number, options: DecoderGraphOptions): string {
  return rowPartLinear(b, name, options.rowParts?.(name) ?? [outDim], (weight, rows) => {
    if (options.precision === 'fp32') {
      const w = b.weight(weight, 'float32', [rows, inDim], weight);
      return b.op('Gemm', [x, w], { attributes: { transB: 1 } });
    }
    // B [N, ceil(K / 32), 16] with the true K as the attribute: a partial last block is padded (int4-layout.ts).
    const blocks = int4BlocksPerRow(inDim);
    const packed = b.weight(weight, 'uint8', [rows, blocks, MATMULNBITS_BLOCK_SIZE / 2], weight);
    const scales = b.weight(scalesName(weight), b.floatType, [rows, blocks], scalesName(weight));
    return b.op('MatMulNBits', [x, packed, scales], {
      domain: 'com.microsoft',
      attributes: { K: inDim, N: rows, bits: 4, block_size: MATMULNBITS_BLOCK_SIZE, accuracy_level: options.accuracyLevel ?? 4 },
    });
  });
}

function normWeight(b: GraphBuilder, name: string, dim: number): string {
  return b.weight(name, b.floatType, [dim], name);
}

/** The decoder graph for `spec` (all layers), weights bound by their checkpoint names. */
export function buildDecoderGraph(spec: ModelSpec, options: DecoderGraphOptions): ModelGraph {
  const t = spec.text;
  const T = floatTypeOf(options.precision);
  const H = t.hiddenSize;
  const D = t.headDim;
  const qDim = t.numHeads * D;
  const kvDim = t.numKvHeads * D;
  const eps = { float: t.rmsNormEps };
  const b = new GraphBuilder('decoder', T);
  const embeds = b.input('inputs_embeds', T, [1, 'sequence_length', H]);
  const seqlens = b.input('seqlens_k', 'int32', [1]);
  const total = b.input('total_sequence_length', 'int32', []);
  const cos = b.input('cos_cache', T, ['max_sequence_length', D / 2]);
  const sin = b.input('sin_cache', T, ['max_sequence_length', D / 2]);
  const cacheShape = [1, t.numKvHeads, 'max_sequence_length', D];

  // Rows are tokens: 2-D [S, H] between attention calls (Gemm and the norms want that).
  let residual = b.op('Reshape', [embeds, b.int64([-1, H])]);
  let x = b.op('SimplifiedLayerNormalization', [residual, normWeight(b, WEIGHTS.decoderLayer(0).inputNorm, H)], { attributes: { axis: -1, epsilon: eps } });
  let mlpOut = '';
  for (let l = 0; l < t.numLayers; l++) {
    const n = WEIGHTS.decoderLayer(l);
    const to3d = (v: string, dim: number): string => b.op('Reshape', [v, b.int64([1, -1, dim])]);
    const q = to3d(decoderLinear(b, x, n.q, H, qDim, options), qDim);
    const k = to3d(decoderLinear(b, x, n.k, H, kvDim, options), kvDim);
    const v = to3d(decoderLinear(b, x, n.v, H, kvDim, options), kvDim);
    const pastKey = b.input(`past_key.${l}`, T, cacheShape);
    const pastValue = b.input(`past_value.${l}`, T, cacheShape);
    const attn3d = b.fresh('attn');
    b.op('GroupQueryAttention', [q, k, v, pastKey, pastValue, seqlens, total, cos, sin], {
      domain: 'com.microsoft',
      outputs: [attn3d, `present_key.${l}`, `present_value.${l}`],
      attributes: { num_heads: t.numHeads, kv_num_heads: t.numKvHeads, do_rotary: 1 },
    });
    b.output(`present_key.${l}`, T, cacheShape);
    b.output(`present_value.${l}`, T, cacheShape);
    const attn = decoderLinear(b, b.op('Reshape', [attn3d, b.int64([-1, qDim])]), n.o, qDim, H, options);
    // residual += attn; y = RMSNorm(residual): one fused node.
    const [y, sum] = [b.fresh('post_norm'), b.fresh('residual')];
    b.op('SkipSimplifiedLayerNormalization', [attn, residual, normWeight(b, n.postAttentionNorm, H)], {
      domain: 'com.microsoft',
      outputs: [y, '', '', sum],
      attributes: { epsilon: eps },
    });
    residual = sum;
    const gate = silu(b, decoderLinear(b, y, n.gate, H, t.intermediateSize, options));
    const up = decoderLinear(b, y, n.up, H, t.intermediateSize, options);
    mlpOut = decoderLinear(b, b.op('Mul', [gate, up]), n.down, t.intermediateSize, H, options);
    if (l + 1 < t.numLayers) {
      const [nx, nsum] = [b.fresh('input_norm'), b.fresh('residual')];
      b.op('SkipSimplifiedLayerNormalization', [mlpOut, residual, normWeight(b, WEIGHTS.decoderLayer(l + 1).inputNorm, H)], {
        domain: 'com.microsoft',
        outputs: [nx, '', '', nsum],
        attributes: { epsilon: eps },
      });
      x = nx;
      residual = nsum;
    }
  }
  // Only the last position's logits are needed: slice before the final norm and the lm_head.
  const lastRow = (v: string): string => b.op('Slice', [v, b.int64([-1]), b.int64([2 ** 53 - 1]), b.int64([0])]);
  const finalNorm = b.fresh('final_norm');
  b.op('SkipSimplifiedLayerNormalization', [lastRow(mlpOut), lastRow(residual), normWeight(b, WEIGHTS.finalNorm, H)], {
    domain: 'com.microsoft',
    outputs: [finalNorm],
    attributes: { epsilon: eps },
  });
  // Always bound as WEIGHTS.lmHead: with tied embeddings the exporter writes that entry from the
  // embedding table (the table itself is stored for the engine's gather, in another dtype/layout).
  const logits = decoderLinear(b, finalNorm, WEIGHTS.lmHead, H, t.vocabSize, options);
  b.op(T === 'float32' ? 'Identity' : 'Cast', [logits], { outputs: ['logits'], ...(T === 'float32' ? {} : { attributes: { to: 1 } }) });
  b.output('logits', 'float32', [1, t.vocabSize]);
  return b.build(`decoder (${options.precision}): ${t.numLayers} Llama layers, GQA with a static shared KV cache, last-position logits`);
}
