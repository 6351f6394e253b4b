import { describe, expect, it } from 'vitest';
import { visionRotaryTables, type PatchGrid } from '../../processor/vision-rotary';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { WEIGHTS } from '../../protocol/weight-names';
import { imageRanges, visionForwardReference } from '../../../export/reference-forward/vision-reference';
import { randomWeights, TINY_SPEC } from '../../../export/reference-forward/random-weights';
import { embedWeights, GraphBuilder } from './graph-builder';
import { GraphHarness, weightFeeds } from '../../testing/graph-harness';
import { appendProjector } from './projector-graph';
import { buildVisionWholeGraph } from './vision-graphs';
import { projectorReference } from '../../../export/reference-forward/vision-reference';

const spec = TINY_SPEC;
const weights = randomWeights(spec, 100);
const lookup = (name: string): Float32Array => {
  const w = weights.get(name);
  if (!w) throw new Error(`no weight ${name}`);
  return w;
};
// Two images (an odd number of merge windows in the second) so the block-diagonal attention matters.
const grids: PatchGrid[] = [
  { t: 1, h: 4, w: 4 },
  { t: 1, h: 2, w: 6 },
];
const patches = grids.reduce((n, g) => n + g.t * g.h * g.w, 0);
const inDim = 3 * 2 * 14 * 14;
const pixels = randomFloats(patches * inDim, 7);
const expected = visionForwardReference(spec, lookup, pixels, grids);
const f32 = (dims: number[], data: Float32Array) => ({ type: 'float32' as const, dims, data });
const E = spec.vision.embedDim;

function tolerance(actual: Float32Array, reference: Float32Array): void {
  const stats = compareArrays(actual, reference);
  expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(1e-4);
  expect(Math.max(...reference.map(Math.abs))).toBeGreaterThan(0.5);
}

describe('vision graphs on WebGPU (onnxruntime-web, no CPU fallback) vs the plain-TS forward', () => {
  it('vision-whole (weights as inputs) gives the reference image features', async () => {
    const ctx = await testGpuContext();
    const model = buildVisionWholeGraph(spec, { floatType: 'float32' });
    const D = E / spec.vision.numHeads;
    const { cos, sin } = visionRotaryTables(grids, D, spec.vision.ropeTheta);
    const bias = new Float32Array(patches * patches).fill(-1e30);
    for (const { start, end } of imageRanges(grids)) for (let i = start; i < end; i++) bias.fill(0, i * patches + start, i * patches + end);
    const harness = await GraphHarness.create(ctx, model.graph);
    try {
      const out = await harness.run({
        pixel_values: f32([patches, inDim], pixels),
        rotary_cos: f32([patches, D / 2], cos),
        rotary_sin: f32([patches, D / 2], sin),
        attention_bias: f32([patches, patches], bias),
        ...weightFeeds(model, lookup),
      });
      const features = await harness.readFloat32(out.image_features!);
      expect(out.image_features!.dims).toEqual([patches / 4, spec.vision.outHiddenSize]);
      tolerance(features, expected);
    } finally {
      await harness.release();
    }
  });

  // The projector part of vision-whole alone, as its own graph (packages do not ship it).
  it('projector graph with weights embedded as initializers', async () => {
    const ctx = await testGpuContext();
    const hidden = randomFloats(patches * E, 9).map((x) => 3 * x);
    const b = new GraphBuilder('projector', 'float32');
    b.op('Identity', [appendProjector(b, spec, b.input('hidden', 'float32', ['patches', E]))], { outputs: ['image_features'] });
    b.output('image_features', 'float32', ['merged', spec.vision.outHiddenSize]);
    const model = b.build('projector: PatchMerger + extra LayerNorm');
    const { fc1, fc2 } = WEIGHTS.merger;
    const graph = embedWeights(model, (binding) => {
      const data = lookup(binding);
      return { type: 'float32', dims: binding === fc1.weight ? [4 * E, 4 * E] : binding === fc2.weight ? [spec.vision.outHiddenSize, 4 * E] : [data.length], data };
    });
    expect(graph.inputs.map((i) => i.name)).toEqual(['hidden']);
    const harness = await GraphHarness.create(ctx, graph);
    try {
      const out = await harness.run({ hidden: f32([patches, E], hidden) });
      tolerance(await harness.readFloat32(out.image_features!), projectorReference(spec, lookup, hidden));
    } finally {
      await harness.release();
    }
  });
});
