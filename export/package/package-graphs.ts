/**
 * The graphs a package ships and the pipelines that chain them with our kernels. Change the split
 * here: the manifest carries it to the engine as data.
 */
import type { ModelSpec } from '../../src/protocol/model-spec';
import type { PipelineStep, Pipelines, Precision } from '../../src/protocol/manifest';
import { buildDecoderGraph, floatTypeOf } from '../graphs/decoder-graph';
import type { ModelGraph } from '../graphs/graph-builder';
import { buildProjectorGraph } from '../graphs/projector-graph';
import { buildVisionBlockGraph, buildVisionPreGraph, buildVisionWholeGraph } from '../graphs/vision-graphs';

export interface PackageGraphOptions {
  readonly precision: Precision;
  /** MatMulNBits accuracy_level of the decoder (default 4). */
  readonly accuracyLevel?: number;
}

/** name → graph, in the order they are written. */
export function packageGraphs(spec: ModelSpec, options: PackageGraphOptions): Map<string, ModelGraph> {
  const floatType = floatTypeOf(options.precision);
  return new Map<string, ModelGraph>([
    ['vision-pre', buildVisionPreGraph(spec, { floatType })],
    ['vision-block', buildVisionBlockGraph(spec, { floatType, last: false })],
    ['vision-block-last', buildVisionBlockGraph(spec, { floatType, last: true })],
    ['vision-whole', buildVisionWholeGraph(spec, { floatType })],
    ['projector', buildProjectorGraph(spec, { floatType })],
    ['decoder', buildDecoderGraph(spec, { precision: options.precision, ...(options.accuracyLevel !== undefined ? { accuracyLevel: options.accuracyLevel } : {}) })],
  ]);
}

/**
 * Vision: our own kernels throughout (src/model/vision-tower.ts): patch embedding, one `vision-block` kernel
 * step per block (LayerNorms, dense layers with fused bias/activation/residual, attention), then the merger;
 * the whole tower is one command buffer. Embeddings: our gather kernel. Prefill: the decoder graph; decode: our
 * own step kernel (the decoder graph with S = 1 is the ORT baseline).
 */
export function packagePipelines(spec: ModelSpec): Pipelines {
  return {
    vision: [
      { run: 'kernel', kernel: 'vision-patch-embed' },
      { run: 'loop', variable: 'block', from: 0, count: spec.vision.depth, steps: [{ run: 'kernel', kernel: 'vision-block' }] },
      { run: 'kernel', kernel: 'vision-merger' },
    ],
    visionBaseline: [{ run: 'graph', graph: 'vision-whole' }],
    embed: [{ run: 'kernel', kernel: 'embed-tokens' }],
    prefill: [{ run: 'graph', graph: 'decoder' }],
    decode: [{ run: 'kernel', kernel: 'decoder-step' }],
  };
}

/**
 * The earlier vision path, kept for comparison (bench, tests): one ORT run per block around our attention
 * kernel (vision-block binds blocks {block} and {block+1}); the last block is fused with the projector.
 * Its graphs are still written into every package.
 */
export function segmentedVisionPipeline(spec: ModelSpec): PipelineStep[] {
  const last = spec.vision.depth - 1;
  return [
    { run: 'graph', graph: 'vision-pre' },
    {
      run: 'loop',
      variable: 'block',
      from: 0,
      count: last,
      steps: [
        { run: 'kernel', kernel: 'vision-attention' },
        { run: 'graph', graph: 'vision-block' },
      ],
    },
    { run: 'kernel', kernel: 'vision-attention', vars: { block: last } },
    { run: 'graph', graph: 'vision-block-last', vars: { block: last } },
  ];
}
