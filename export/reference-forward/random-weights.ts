/**
 * A tiny Sarashina2-Vision spec and random weights under the Hugging Face tensor names, in memory,
 * for graph tests (the on-disk checkpoint generator lives in export/random/).
 */
import type { ModelSpec } from '../../src/protocol/model-spec';
import { allBiases, allNorms, checkpointTensorShapes, WEIGHTS } from '../../src/protocol/weight-names';
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

/**
 * Random weights: matrices ~ U(−1, 1)/√fan_in (so activations stay O(1) through the blocks), norm
 * weights near 1, biases small.
 */
export function randomWeights(spec: ModelSpec, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const normWeights = new Set(allNorms(spec).map((n) => n.weight));
  const biases = new Set(allBiases(spec));
  // Seeds follow checkpointTensorShapes' order: reordering that map changes every tensor's values.
  let s = seed;
  for (const [name, shape] of checkpointTensorShapes(spec)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const r = randomFloats(count, s++);
    const fanIn = shape.length > 1 ? count / (shape[0] ?? 1) : 1;
    if (normWeights.has(name)) out.set(name, r.map((x) => 1 + 0.2 * x));
    else if (biases.has(name)) out.set(name, r.map((x) => 0.1 * x));
    else if (name === WEIGHTS.embedTokens) out.set(name, r);
    else out.set(name, r.map((x) => (x * 1.7) / Math.sqrt(fanIn)));
  }
  return out;
}
