/**
 * The ONNX graphs a package ships: `vision-whole`, the ORT-only vision baseline (the engine's own vision path
 * is our kernels on the package's weights, src/model/vision-tower.ts), and `decoder` (prefill; the ORT decode
 * baseline).
 */
import type { ModelSpec } from '../../protocol/model-spec';
import type { GraphName, Precision } from '../../protocol/manifest';
import { buildDecoderGraph, floatTypeOf } from '../graphs/decoder-graph';
import type { ModelGraph } from '../graphs/graph-builder';
import type { RowPartsOf } from '../graphs/graph-layers';
import { buildVisionWholeGraph } from '../graphs/vision-graphs';

export interface PackageGraphOptions {
  readonly precision: Precision;
  /** MatMulNBits accuracy_level of the decoder (default 4). */
  readonly accuracyLevel?: number;
  /** Row parts of the weights stored split (the writer's weight plan; a manifest's weightSplits); default none. */
  readonly rowParts?: RowPartsOf;
}

/** name → graph, in the order they are written. */
export function packageGraphs(spec: ModelSpec, options: PackageGraphOptions): Map<GraphName, ModelGraph> {
  const floatType = floatTypeOf(options.precision);
  return new Map<GraphName, ModelGraph>([
    ['vision-whole', buildVisionWholeGraph(spec, { floatType })],
    [
      'decoder',
      buildDecoderGraph(spec, {
        precision: options.precision,
        ...(options.accuracyLevel !== undefined ? { accuracyLevel: options.accuracyLevel } : {}),
        ...(options.rowParts ? { rowParts: options.rowParts } : {}),
      }),
    ],
  ]);
}
