/**
 * The ONNX graphs a package ships: `vision-whole`, the ORT-only vision baseline (the engine's own vision path
 * is our kernels on the package's weights, src/model/vision-tower.ts), and `decoder` (prefill; the ORT decode
 * baseline).
 */
import type { ModelSpec } from '../../src/protocol/model-spec';
import type { Pipelines, Precision } from '../../src/protocol/manifest';
import { buildDecoderGraph, floatTypeOf } from '../graphs/decoder-graph';
import type { ModelGraph } from '../graphs/graph-builder';
import { buildVisionWholeGraph } from '../graphs/vision-graphs';

export interface PackageGraphOptions {
  readonly precision: Precision;
  /** MatMulNBits accuracy_level of the decoder (default 4). */
  readonly accuracyLevel?: number;
}

/** name → graph, in the order they are written. */
export function packageGraphs(spec: ModelSpec, options: PackageGraphOptions): Map<string, ModelGraph> {
  const floatType = floatTypeOf(options.precision);
  return new Map<string, ModelGraph>([
    ['vision-whole', buildVisionWholeGraph(spec, { floatType })],
    ['decoder', buildDecoderGraph(spec, { precision: options.precision, ...(options.accuracyLevel !== undefined ? { accuracyLevel: options.accuracyLevel } : {}) })],
  ]);
}

/**
 * Vision: our own kernels (patch embed, one `vision-block` step per block, merger; one command buffer).
 * Embeddings: our gather kernel. Prefill: the decoder graph; decode: our own step kernel.
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
