/**
 * The checkpoint's tensor names, spelled once. Sarashina2-Vision's safetensors hold the Qwen2-VL vision tower
 * under `visual.*`, the projector's extra LayerNorm under `norm.*` and the Llama decoder under `llm.*`; our
 * packages keep those names (int4 linears add a `.scales` companion). The exporter, the engine and the
 * reference code all build names here and nowhere else.
 */
import type { ModelSpec } from './model-spec';

/** A layer with a weight and a bias (LayerNorm, biased Linear). */
export interface AffineNames {
  readonly weight: string;
  readonly bias: string;
}

/** One decoder layer's weights. */
export interface DecoderLayerNames {
  readonly inputNorm: string;
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly o: string;
  readonly postAttentionNorm: string;
  readonly gate: string;
  readonly up: string;
  readonly down: string;
}

/** One vision block's weights. */
export interface VisionBlockNames {
  readonly norm1: AffineNames;
  readonly qkv: AffineNames;
  readonly proj: AffineNames;
  readonly norm2: AffineNames;
  readonly fc1: AffineNames;
  readonly fc2: AffineNames;
}

const affine = (prefix: string): AffineNames => ({ weight: `${prefix}.weight`, bias: `${prefix}.bias` });

/** The names of the whole model. Layer and block names are functions of their index. */
export const WEIGHTS = {
  /** Conv3d [E, C, T, P, P] without bias (the engine reads it as a [E, C·T·P·P] matrix). */
  patchEmbed: 'visual.patch_embed.proj.weight',
  visionBlock(block: number): VisionBlockNames {
    const p = `visual.blocks.${block}`;
    return {
      norm1: affine(`${p}.norm1`),
      qkv: affine(`${p}.attn.qkv`),
      proj: affine(`${p}.attn.proj`),
      norm2: affine(`${p}.norm2`),
      fc1: affine(`${p}.mlp.fc1`),
      fc2: affine(`${p}.mlp.fc2`),
    };
  },
  merger: {
    lnQ: affine('visual.merger.ln_q'),
    fc1: affine('visual.merger.mlp.0'),
    fc2: affine('visual.merger.mlp.2'),
  },
  /** Sarashina's LayerNorm after the PatchMerger. */
  projectorNorm: affine('norm'),
  embedTokens: 'llm.model.embed_tokens.weight',
  decoderLayer(layer: number): DecoderLayerNames {
    const p = `llm.model.layers.${layer}`;
    return {
      inputNorm: `${p}.input_layernorm.weight`,
      q: `${p}.self_attn.q_proj.weight`,
      k: `${p}.self_attn.k_proj.weight`,
      v: `${p}.self_attn.v_proj.weight`,
      o: `${p}.self_attn.o_proj.weight`,
      postAttentionNorm: `${p}.post_attention_layernorm.weight`,
      gate: `${p}.mlp.gate_proj.weight`,
      up: `${p}.mlp.up_proj.weight`,
      down: `${p}.mlp.down_proj.weight`,
    };
  },
  finalNorm: 'llm.model.norm.weight',
  /** Always present in a package (written from the table when the checkpoint ties embeddings). */
  lmHead: 'llm.lm_head.weight',
} as const;

/** The per-row scales of an int4 (MatMulNBits) weight. */
export function scalesName(weight: string): string {
  return `${weight}.scales`;
}

/** The decoder layer's linears in their HF order (q, k, v, o, gate, up, down). */
export function decoderLinears(names: DecoderLayerNames): readonly string[] {
  return [names.q, names.k, names.v, names.o, names.gate, names.up, names.down];
}

/** Every decoder linear of the model (each layer's seven, then lm_head): the int4-quantized set. */
export function allDecoderLinears(spec: ModelSpec): string[] {
  const out: string[] = [];
  for (let l = 0; l < spec.text.numLayers; l++) out.push(...decoderLinears(WEIGHTS.decoderLayer(l)));
  out.push(WEIGHTS.lmHead);
  return out;
}

/** A norm's parameters: the vision side's LayerNorms have a bias, the decoder's RMSNorms only a weight. */
export interface NormNames {
  readonly weight: string;
  readonly bias?: string;
}

/** Every norm of the model, vision first (blocks, merger ln_q, projector norm), then the decoder's RMSNorms. */
export function allNorms(spec: ModelSpec): NormNames[] {
  const out: NormNames[] = [];
  for (let b = 0; b < spec.vision.depth; b++) {
    const n = WEIGHTS.visionBlock(b);
    out.push(n.norm1, n.norm2);
  }
  out.push(WEIGHTS.merger.lnQ, WEIGHTS.projectorNorm);
  for (let l = 0; l < spec.text.numLayers; l++) {
    const n = WEIGHTS.decoderLayer(l);
    out.push({ weight: n.inputNorm }, { weight: n.postAttentionNorm });
  }
  out.push({ weight: WEIGHTS.finalNorm });
  return out;
}

/** Every bias of the model: the vision side's LayerNorms and linears (the decoder has none). */
export function allBiases(spec: ModelSpec): string[] {
  const affines: AffineNames[] = [];
  for (let b = 0; b < spec.vision.depth; b++) {
    const n = WEIGHTS.visionBlock(b);
    affines.push(n.norm1, n.qkv, n.proj, n.norm2, n.fc1, n.fc2);
  }
  const m = WEIGHTS.merger;
  affines.push(m.lnQ, m.fc1, m.fc2, WEIGHTS.projectorNorm);
  return affines.map((a) => a.bias);
}

/**
 * Every tensor a Sarashina2-Vision checkpoint holds, with the Hugging Face shape `spec` implies (the conv weight
 * as stored: [E, C, T, P, P]). Map order: vision, projector norm, decoder. `lm_head` only when not tied.
 */
export function checkpointTensorShapes(spec: ModelSpec): Map<string, readonly number[]> {
  const { vision: v, text: t } = spec;
  const shapes = new Map<string, readonly number[]>();
  const e = v.embedDim;
  const setAffine = (names: AffineNames, out: number, inDim?: number): void => {
    shapes.set(names.weight, inDim === undefined ? [out] : [out, inDim]);
    shapes.set(names.bias, [out]);
  };
  shapes.set(WEIGHTS.patchEmbed, [e, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize]);
  for (let b = 0; b < v.depth; b++) {
    const n = WEIGHTS.visionBlock(b);
    setAffine(n.norm1, e);
    setAffine(n.norm2, e);
    setAffine(n.qkv, 3 * e, e);
    setAffine(n.proj, e, e);
    setAffine(n.fc1, v.mlpDim, e);
    setAffine(n.fc2, e, v.mlpDim);
  }
  const group = e * v.spatialMergeSize ** 2;
  setAffine(WEIGHTS.merger.lnQ, e);
  setAffine(WEIGHTS.merger.fc1, group, group);
  setAffine(WEIGHTS.merger.fc2, v.outHiddenSize, group);
  setAffine(WEIGHTS.projectorNorm, v.outHiddenSize);
  const h = t.hiddenSize;
  const qSize = t.numHeads * t.headDim;
  const kvSize = t.numKvHeads * t.headDim;
  shapes.set(WEIGHTS.embedTokens, [t.vocabSize, h]);
  for (let l = 0; l < t.numLayers; l++) {
    const n = WEIGHTS.decoderLayer(l);
    shapes.set(n.q, [qSize, h]);
    shapes.set(n.k, [kvSize, h]);
    shapes.set(n.v, [kvSize, h]);
    shapes.set(n.o, [h, qSize]);
    shapes.set(n.gate, [t.intermediateSize, h]);
    shapes.set(n.up, [t.intermediateSize, h]);
    shapes.set(n.down, [h, t.intermediateSize]);
    shapes.set(n.inputNorm, [h]);
    shapes.set(n.postAttentionNorm, [h]);
  }
  shapes.set(WEIGHTS.finalNorm, [h]);
  if (!t.tieWordEmbeddings) shapes.set(WEIGHTS.lmHead, [t.vocabSize, h]);
  return shapes;
}
