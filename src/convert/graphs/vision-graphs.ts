/**
 * vision-whole: the ORT-only vision tower (the engine's baseline next to our kernels, src/model/vision-tower.ts),
 * one run with the 2-D RoPE tables and an additive block-diagonal mask as inputs (O(N²) memory: small images only).
 */
import type { ModelSpec } from '../../protocol/model-spec';
import { type VisionBlockNames, WEIGHTS } from '../../protocol/weight-names';
import { type FloatType, GraphBuilder, type ModelGraph } from './graph-builder';
import { layerNorm, linear, quickGelu } from './graph-layers';
import { appendProjector } from './projector-graph';

export interface VisionGraphOptions {
  readonly floatType: FloatType;
}

function patchInDim(spec: ModelSpec): number {
  const v = spec.vision;
  return v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
}

/** Patch embedding: the Conv3d with stride = kernel is a matmul on flattened patch rows. */
function patchEmbed(b: GraphBuilder, spec: ModelSpec, pixels: string): string {
  return linear(b, pixels, { name: 'patch_embed.proj', binding: { weight: WEIGHTS.patchEmbed }, inDim: patchInDim(spec), outDim: spec.vision.embedDim, bias: false });
}

/** LN1 + qkv projection of the block whose weights are `w`. */
function qkvProjection(b: GraphBuilder, spec: ModelSpec, hidden: string, name: string, w: VisionBlockNames): string {
  const E = spec.vision.embedDim;
  const x = layerNorm(b, hidden, { name: `${name}.norm1`, binding: w.norm1, dim: E, eps: spec.vision.layerNormEps });
  return linear(b, x, { name: `${name}.attn.qkv`, binding: w.qkv, inDim: E, outDim: 3 * E, bias: true });
}

/** Everything of a block after attention: hidden + proj(attn), then + MLP(LN2(·)). */
function blockPost(b: GraphBuilder, spec: ModelSpec, hidden: string, attn: string, name: string, w: VisionBlockNames): string {
  const { embedDim: E, mlpDim: M, layerNormEps: eps } = spec.vision;
  const h = b.op('Add', [hidden, linear(b, attn, { name: `${name}.attn.proj`, binding: w.proj, inDim: E, outDim: E, bias: true })]);
  const x = layerNorm(b, h, { name: `${name}.norm2`, binding: w.norm2, dim: E, eps });
  const m = quickGelu(b, linear(b, x, { name: `${name}.mlp.fc1`, binding: w.fc1, inDim: E, outDim: M, bias: true }));
  return b.op('Add', [h, linear(b, m, { name: `${name}.mlp.fc2`, binding: w.fc2, inDim: M, outDim: E, bias: true })]);
}

/** Rotate-half 2-D RoPE on x [N, heads, D] with cos/sin [N, 1, D/2]. */
function rope(b: GraphBuilder, x: string, cos: string, sin: string, headDim: number): string {
  const half = headDim / 2;
  const [x1, x2] = [b.fresh('x1'), b.fresh('x2')];
  b.op('Split', [x, b.int64([half, half])], { outputs: [x1, x2], attributes: { axis: 2 } });
  const first = b.op('Sub', [b.op('Mul', [x1, cos]), b.op('Mul', [x2, sin])]);
  const second = b.op('Add', [b.op('Mul', [x2, cos]), b.op('Mul', [x1, sin])]);
  return b.op('Concat', [first, second], { attributes: { axis: 2 } });
}

/**
 * vision-whole: pixel_values [N, C·T·P·P], rotary_cos/rotary_sin [N, D/2] (src/processor/vision-rotary.ts),
 * attention_bias [N, N] (0 within an image, a large negative value across images)
 * → image_features [N/4, outHiddenSize]. Binds every vision weight by its checkpoint name.
 */
export function buildVisionWholeGraph(spec: ModelSpec, options: VisionGraphOptions): ModelGraph {
  const T = options.floatType;
  const { embedDim: E, numHeads: heads } = spec.vision;
  const D = E / heads;
  const b = new GraphBuilder('vision-whole', T);
  const pixels = b.input('pixel_values', T, ['patches', patchInDim(spec)]);
  const cosIn = b.input('rotary_cos', T, ['patches', D / 2]);
  const sinIn = b.input('rotary_sin', T, ['patches', D / 2]);
  const bias = b.input('attention_bias', T, ['patches', 'patches']);
  const cos = b.op('Unsqueeze', [cosIn, b.int64([1])]);
  const sin = b.op('Unsqueeze', [sinIn, b.int64([1])]);
  let hidden = patchEmbed(b, spec, pixels);
  for (let block = 0; block < spec.vision.depth; block++) {
    // Node names keep the checkpoint's prefix (readable graphs); the bindings come from WEIGHTS.
    const name = `visual.blocks.${block}`;
    const w = WEIGHTS.visionBlock(block);
    const qkv = qkvProjection(b, spec, hidden, name, w);
    const [q, k, v] = [b.fresh('q'), b.fresh('k'), b.fresh('v')];
    b.op('Split', [b.op('Reshape', [qkv, b.int64([0, 3 * heads, D])]), b.int64([heads, heads, heads])], { outputs: [q, k, v], attributes: { axis: 1 } });
    const qh = b.op('Transpose', [rope(b, q, cos, sin, D)], { attributes: { perm: [1, 0, 2] } }); // [heads, N, D]
    const kt = b.op('Transpose', [rope(b, k, cos, sin, D)], { attributes: { perm: [1, 2, 0] } }); // [heads, D, N]
    const vh = b.op('Transpose', [v], { attributes: { perm: [1, 0, 2] } });
    const scores = b.op('Add', [b.op('Mul', [b.op('MatMul', [qh, kt]), b.scalar(1 / Math.sqrt(D))]), bias]);
    const probs = b.op('Softmax', [scores], { attributes: { axis: -1 } });
    const context = b.op('Transpose', [b.op('MatMul', [probs, vh])], { attributes: { perm: [1, 0, 2] } });
    const attn = b.op('Reshape', [context, b.int64([0, E])]);
    hidden = blockPost(b, spec, hidden, attn, name, w);
  }
  b.op('Identity', [appendProjector(b, spec, hidden)], { outputs: ['image_features'] });
  b.output('image_features', T, ['merged', spec.vision.outHiddenSize]);
  return b.build('vision-whole: the ORT-only vision tower (baseline), 2-D RoPE tables and block-diagonal bias as inputs');
}
