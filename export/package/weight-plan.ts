/**
 * What each checkpoint tensor becomes in a package of a given precision (see the layout notes in
 * src/protocol/manifest.ts):
 *   decoder linears + lm_head  fp32: float32 row-major;  q4*: int4 block-32 codes + scales
 *   embedding table            fp32: float32;  q4*: float16 (the engine's gather kernel reads it)
 *   everything else            float32 (fp32, q4f32) or float16 (q4f16), row-major; the vision patch
 *                              embedding flattened to [E, C·T·P·P]
 * With tied embeddings the lm_head entry (`WEIGHTS.lmHead`) is produced from the table.
 */
import type { ModelSpec } from '../../src/protocol/model-spec';
import type { Precision, WeightDtype } from '../../src/protocol/manifest';
import { precisionDtypes } from '../../src/protocol/precision-dtypes';
import { allDecoderLinears, checkpointTensorShapes, WEIGHTS } from '../../src/protocol/weight-names';

export type Conversion =
  | { readonly kind: 'float'; readonly dtype: Exclude<WeightDtype, 'uint8'> }
  | { readonly kind: 'int4'; readonly scaleDtype: 'float32' | 'float16' };

export interface PlannedWeight {
  /** Name in the package (= the checkpoint name it comes from, except lm_head when tied). */
  readonly name: string;
  /** Checkpoint tensor read for it. */
  readonly source: string;
  /** Logical shape in the package: rows × cols for linears, the patch embedding flattened. */
  readonly shape: readonly number[];
  readonly conversion: Conversion;
}

export function planWeights(spec: ModelSpec, precision: Precision): PlannedWeight[] {
  const dtypes = precisionDtypes(precision);
  const plan: PlannedWeight[] = [];
  const shapes = checkpointTensorShapes(spec);
  if (spec.text.tieWordEmbeddings) shapes.set(WEIGHTS.lmHead, [spec.text.vocabSize, spec.text.hiddenSize]);
  const decoderLinears = new Set(allDecoderLinears(spec));
  for (const [name, shape] of shapes) {
    const source = name === WEIGHTS.lmHead && spec.text.tieWordEmbeddings ? WEIGHTS.embedTokens : name;
    if (name === WEIGHTS.patchEmbed) {
      const [out = 0, ...rest] = shape;
      plan.push({ name, source, shape: [out, rest.reduce((a, b) => a * b, 1)], conversion: { kind: 'float', dtype: dtypes.floatWeights } });
    } else if (decoderLinears.has(name) && dtypes.decoderLinears === 'int4') {
      plan.push({ name, source, shape, conversion: { kind: 'int4', scaleDtype: dtypes.int4Scales } });
    } else if (name === WEIGHTS.embedTokens) {
      plan.push({ name, source, shape, conversion: { kind: 'float', dtype: dtypes.embeddingTable } });
    } else {
      plan.push({ name, source, shape, conversion: { kind: 'float', dtype: dtypes.floatWeights } });
    }
  }
  return plan;
}
