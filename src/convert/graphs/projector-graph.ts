/**
 * The projector: Qwen2-VL's PatchMerger (LayerNorm → 2×2 neighbours concatenated → Linear → exact
 * GELU → Linear) followed by Sarashina's extra LayerNorm (`norm.*`). Input: the last vision block's
 * hidden state [N, E] in merge-window order; output: image features [N/4, outHiddenSize]. Appended to vision-whole.
 */
import type { ModelSpec } from '../../protocol/model-spec';
import { WEIGHTS } from '../../protocol/weight-names';
import type { GraphBuilder } from './graph-builder';
import { gelu, layerNorm, linear } from './graph-layers';

/** Appends the projector to `b`, reading `hidden` [N, E]; returns the features tensor [N/4, H]. */
export function appendProjector(b: GraphBuilder, spec: ModelSpec, hidden: string): string {
  const v = spec.vision;
  const group = v.embedDim * v.spatialMergeSize ** 2;
  const { lnQ, fc1, fc2 } = WEIGHTS.merger;
  const x = layerNorm(b, hidden, { name: 'merger.ln_q', binding: lnQ, dim: v.embedDim, eps: v.layerNormEps });
  // Rows are already in merge-window order, so 4 consecutive rows are one 2×2 group.
  const grouped = b.op('Reshape', [x, b.int64([-1, group])]);
  const h = gelu(b, linear(b, grouped, { name: 'merger.mlp.0', binding: fc1, inDim: group, outDim: group, bias: true }));
  const y = linear(b, h, { name: 'merger.mlp.2', binding: fc2, inDim: group, outDim: v.outHiddenSize, bias: true });
  return layerNorm(b, y, { name: 'norm', binding: WEIGHTS.projectorNorm, dim: v.outHiddenSize, eps: v.projectorNormEps });
}
