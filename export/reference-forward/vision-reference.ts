/**
 * Plain-TS forward of Sarashina2-Vision's vision side (Qwen2-VL ViT + PatchMerger + the extra
 * LayerNorm), written from the Hugging Face modules' math, for testing the exported graphs.
 * Tests only: slow (f64 loops), no GPU.
 */
import type { ModelSpec } from '../../src/protocol/model-spec';
import { WEIGHTS } from '../../src/protocol/weight-names';
import { type PatchGrid, visionRotaryTables } from '../../src/processor/vision-rotary';
import { add, attendHead, gelu, layerNorm, linear, map, quickGelu, rotateHalf } from './tensor-math';

/** Checkpoint weight by Hugging Face name, as f32 (a conv weight flattened to [out, in·t·p·p]). */
export type WeightLookup = (name: string) => Float32Array;

/** Patch rows per image, in order. */
export function imageRanges(grids: readonly PatchGrid[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let start = 0;
  for (const g of grids) {
    const n = g.t * g.h * g.w;
    out.push({ start, end: start + n });
    start += n;
  }
  return out;
}

/**
 * The vision attention our WGSL kernel does between the ORT segments: qkv [N, 3E] (q | k | v, each
 * heads × D) → 2-D RoPE on q and k → block-diagonal softmax attention per image → [N, E].
 */
export function visionAttentionReference(spec: ModelSpec, qkv: Float32Array, grids: readonly PatchGrid[]): Float32Array {
  const E = spec.vision.embedDim;
  const heads = spec.vision.numHeads;
  const D = E / heads;
  const n = qkv.length / (3 * E);
  const { cos, sin } = visionRotaryTables(grids, D, spec.vision.ropeTheta, spec.vision.spatialMergeSize);
  const x = new Float32Array(qkv);
  rotateHalf(x, n, 3 * E, 0, heads, D, cos, sin, (r) => r);
  rotateHalf(x, n, 3 * E, E, heads, D, cos, sin, (r) => r);
  const out = new Float32Array(n * E);
  for (const range of imageRanges(grids)) {
    for (let h = 0; h < heads; h++) {
      attendHead(
        x,
        x,
        x,
        out,
        { stride: 3 * E, kvStride: 3 * E, qOffset: h * D, kOffset: E + h * D, vOffset: 2 * E + h * D, outStride: E, outOffset: h * D, headDim: D },
        { qStart: range.start, qEnd: range.end, kvStart: range.start, kvEnd: range.end },
      );
    }
  }
  return out;
}

/** x [N, E] → LN1 → qkv [N, 3E] of block `block`. */
export function visionQkvReference(spec: ModelSpec, w: WeightLookup, hidden: Float32Array, block: number): Float32Array {
  const E = spec.vision.embedDim;
  const n = hidden.length / E;
  const { norm1, qkv } = WEIGHTS.visionBlock(block);
  const x = layerNorm(hidden, E, w(norm1.weight), w(norm1.bias), spec.vision.layerNormEps);
  return linear(x, n, E, w(qkv.weight), 3 * E, w(qkv.bias));
}

/** The rest of block `block` after attention: residual + proj, then LN2 + QuickGELU MLP + residual. */
export function visionBlockPostReference(spec: ModelSpec, w: WeightLookup, hidden: Float32Array, attn: Float32Array, block: number): Float32Array {
  const { embedDim: E, mlpDim: M, layerNormEps: eps } = spec.vision;
  const n = hidden.length / E;
  const { proj, norm2, fc1, fc2 } = WEIGHTS.visionBlock(block);
  const h = add(hidden, linear(attn, n, E, w(proj.weight), E, w(proj.bias)));
  const x = layerNorm(h, E, w(norm2.weight), w(norm2.bias), eps);
  const m = linear(map(linear(x, n, E, w(fc1.weight), M, w(fc1.bias)), quickGelu), n, M, w(fc2.weight), E, w(fc2.bias));
  return add(h, m);
}

/** PatchMerger (LN → 4 neighbours concatenated → Linear → GELU → Linear) and Sarashina's `norm`. */
export function projectorReference(spec: ModelSpec, w: WeightLookup, hidden: Float32Array): Float32Array {
  const { embedDim: E, spatialMergeSize: m, outHiddenSize: H } = spec.vision;
  const group = E * m * m;
  const rows = hidden.length / group;
  const { lnQ, fc1, fc2 } = WEIGHTS.merger;
  const x = layerNorm(hidden, E, w(lnQ.weight), w(lnQ.bias), spec.vision.layerNormEps);
  const y = linear(map(linear(x, rows, group, w(fc1.weight), group, w(fc1.bias)), gelu), rows, group, w(fc2.weight), H, w(fc2.bias));
  const norm = WEIGHTS.projectorNorm;
  return layerNorm(y, H, w(norm.weight), w(norm.bias), spec.vision.projectorNormEps);
}

/** pixel rows [N, C·T·P·P] → patch embedding [N, E]. */
export function patchEmbedReference(spec: ModelSpec, w: WeightLookup, pixels: Float32Array): Float32Array {
  const v = spec.vision;
  const inDim = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  return linear(pixels, pixels.length / inDim, inDim, w(WEIGHTS.patchEmbed), v.embedDim);
}

/** The whole vision side: pixel rows of all images → image features [N/4, outHiddenSize]. */
export function visionForwardReference(spec: ModelSpec, w: WeightLookup, pixels: Float32Array, grids: readonly PatchGrid[]): Float32Array {
  let h = patchEmbedReference(spec, w, pixels);
  for (let b = 0; b < spec.vision.depth; b++) {
    const attn = visionAttentionReference(spec, visionQkvReference(spec, w, h, b), grids);
    h = visionBlockPostReference(spec, w, h, attn, b);
  }
  return projectorReference(spec, w, h);
}
