/**
 * A tiny Sarashina2-Vision spec and random weights under the Hugging Face tensor names, in memory,
 * for graph tests (the on-disk checkpoint generator lives in export/random/).
 */
import type { ModelSpec } from '../../src/protocol/model-spec';
import { randomFloats } from '../../src/testing/compare';

/**
 * Small but honest dimensions: several heads, 2 blocks/layers, head_dim 16 (GroupQueryAttention's
 * rotary needs a multiple of 16), widths multiples of 32 (int4 blocks).
 */
export const TINY_SPEC: ModelSpec = {
  modelType: 'sarashina2_vision',
  vision: {
    depth: 2,
    embedDim: 32,
    numHeads: 2,
    mlpDim: 64,
    patchSize: 14,
    temporalPatchSize: 2,
    spatialMergeSize: 2,
    inChannels: 3,
    outHiddenSize: 64,
    layerNormEps: 1e-6,
    projectorNormEps: 1e-5,
    ropeTheta: 10000,
  },
  text: {
    hiddenSize: 64,
    intermediateSize: 96,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 16,
    vocabSize: 128,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
  },
  tokens: { bos: 1, eos: 2, pad: 3, image: 14, imageStart: 125, imageEnd: 126 },
};

/** Every weight name with its Hugging Face shape (the conv weight as stored: [E, C, T, P, P]). */
export function checkpointShapes(spec: ModelSpec): Map<string, number[]> {
  const v = spec.vision;
  const t = spec.text;
  const shapes = new Map<string, number[]>();
  shapes.set('visual.patch_embed.proj.weight', [v.embedDim, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize]);
  for (let b = 0; b < v.depth; b++) {
    const p = `visual.blocks.${b}`;
    for (const n of ['norm1', 'norm2']) {
      shapes.set(`${p}.${n}.weight`, [v.embedDim]);
      shapes.set(`${p}.${n}.bias`, [v.embedDim]);
    }
    shapes.set(`${p}.attn.qkv.weight`, [3 * v.embedDim, v.embedDim]);
    shapes.set(`${p}.attn.qkv.bias`, [3 * v.embedDim]);
    shapes.set(`${p}.attn.proj.weight`, [v.embedDim, v.embedDim]);
    shapes.set(`${p}.attn.proj.bias`, [v.embedDim]);
    shapes.set(`${p}.mlp.fc1.weight`, [v.mlpDim, v.embedDim]);
    shapes.set(`${p}.mlp.fc1.bias`, [v.mlpDim]);
    shapes.set(`${p}.mlp.fc2.weight`, [v.embedDim, v.mlpDim]);
    shapes.set(`${p}.mlp.fc2.bias`, [v.embedDim]);
  }
  const group = v.embedDim * v.spatialMergeSize ** 2;
  shapes.set('visual.merger.ln_q.weight', [v.embedDim]);
  shapes.set('visual.merger.ln_q.bias', [v.embedDim]);
  shapes.set('visual.merger.mlp.0.weight', [group, group]);
  shapes.set('visual.merger.mlp.0.bias', [group]);
  shapes.set('visual.merger.mlp.2.weight', [v.outHiddenSize, group]);
  shapes.set('visual.merger.mlp.2.bias', [v.outHiddenSize]);
  shapes.set('norm.weight', [v.outHiddenSize]);
  shapes.set('norm.bias', [v.outHiddenSize]);
  shapes.set('llm.model.embed_tokens.weight', [t.vocabSize, t.hiddenSize]);
  for (let l = 0; l < t.numLayers; l++) {
    const p = `llm.model.layers.${l}`;
    shapes.set(`${p}.self_attn.q_proj.weight`, [t.numHeads * t.headDim, t.hiddenSize]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [t.numKvHeads * t.headDim, t.hiddenSize]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [t.numKvHeads * t.headDim, t.hiddenSize]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [t.hiddenSize, t.numHeads * t.headDim]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [t.intermediateSize, t.hiddenSize]);
    shapes.set(`${p}.mlp.up_proj.weight`, [t.intermediateSize, t.hiddenSize]);
    shapes.set(`${p}.mlp.down_proj.weight`, [t.hiddenSize, t.intermediateSize]);
    shapes.set(`${p}.input_layernorm.weight`, [t.hiddenSize]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [t.hiddenSize]);
  }
  shapes.set('llm.model.norm.weight', [t.hiddenSize]);
  if (!t.tieWordEmbeddings) shapes.set('llm.lm_head.weight', [t.vocabSize, t.hiddenSize]);
  return shapes;
}

/**
 * Random weights: matrices ~ U(−1, 1)/√fan_in (so activations stay O(1) through the blocks), norm
 * weights near 1, biases small.
 */
export function randomWeights(spec: ModelSpec, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let s = seed;
  for (const [name, shape] of checkpointShapes(spec)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const r = randomFloats(count, s++);
    const fanIn = shape.length > 1 ? count / (shape[0] ?? 1) : 1;
    if (/norm|ln_q/.test(name) && name.endsWith('.weight') && shape.length === 1) out.set(name, r.map((x) => 1 + 0.2 * x));
    else if (name.endsWith('.bias')) out.set(name, r.map((x) => 0.1 * x));
    else if (name === 'llm.model.embed_tokens.weight') out.set(name, r);
    else out.set(name, r.map((x) => (x * 1.7) / Math.sqrt(fanIn)));
  }
  return out;
}
