/**
 * Plain-TS forward of the Llama decoder (Hugging Face LlamaForCausalLM math: RMSNorm, rotate-half
 * RoPE with 1-D positions, causal MHA/GQA, SwiGLU, untied lm_head), for testing the exported graphs.
 * Tests only.
 */
import type { ModelSpec } from '../../src/protocol/model-spec';
import { WEIGHTS } from '../../src/protocol/weight-names';
import { add, attendHead, linear, map, rmsNorm, rotateHalf, silu } from './tensor-math';
import type { WeightLookup } from './vision-reference';

/**
 * RoPE cos/sin tables [positions, headDim/2] the way transformers computes them in float32:
 * inv_freq = 1 / θ^(2i/D) rounded to f32, angle = f32(position · inv_freq), then cos/sin.
 * (At position 4000 an f64 angle would differ from PyTorch's by up to 2.4e-4 — enough to matter.)
 */
export function llamaRotaryTables(positions: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim)));
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * (invFreq[i] ?? 0));
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** All positions' logits [S, vocab] for input embeddings [S, hidden] at positions 0 … S−1. */
export function decoderForwardReference(spec: ModelSpec, w: WeightLookup, embeds: Float32Array): Float32Array {
  const t = spec.text;
  const H = t.hiddenSize;
  const S = embeds.length / H;
  const D = t.headDim;
  const qDim = t.numHeads * D;
  const kvDim = t.numKvHeads * D;
  const group = t.numHeads / t.numKvHeads;
  const { cos, sin } = llamaRotaryTables(S, D, t.ropeTheta);
  let h: Float32Array = new Float32Array(embeds);
  for (let l = 0; l < t.numLayers; l++) {
    const n = WEIGHTS.decoderLayer(l);
    const x = rmsNorm(h, H, w(n.inputNorm), t.rmsNormEps);
    const q = linear(x, S, H, w(n.q), qDim);
    const k = linear(x, S, H, w(n.k), kvDim);
    const v = linear(x, S, H, w(n.v), kvDim);
    rotateHalf(q, S, qDim, 0, t.numHeads, D, cos, sin, (r) => r);
    rotateHalf(k, S, kvDim, 0, t.numKvHeads, D, cos, sin, (r) => r);
    const attn = new Float32Array(S * qDim);
    for (let head = 0; head < t.numHeads; head++) {
      const kvHead = Math.floor(head / group);
      attendHead(
        q,
        k,
        v,
        attn,
        { stride: qDim, kvStride: kvDim, qOffset: head * D, kOffset: kvHead * D, vOffset: kvHead * D, outStride: qDim, outOffset: head * D, headDim: D },
        { qStart: 0, qEnd: S, kvStart: 0, kvEnd: S, causalOffset: 0 },
      );
    }
    h = add(h, linear(attn, S, qDim, w(n.o), H));
    const y = rmsNorm(h, H, w(n.postAttentionNorm), t.rmsNormEps);
    const gate = map(linear(y, S, H, w(n.gate), t.intermediateSize), silu);
    const up = linear(y, S, H, w(n.up), t.intermediateSize);
    h = add(h, linear(gate.map((g, i) => g * (up[i] ?? 0)), S, t.intermediateSize, w(n.down), H));
  }
  const final = rmsNorm(h, H, w(WEIGHTS.finalNorm), t.rmsNormEps);
  return linear(final, S, H, w(t.tieWordEmbeddings ? WEIGHTS.embedTokens : WEIGHTS.lmHead), t.vocabSize);
}
