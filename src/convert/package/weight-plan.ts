/**
 * What each checkpoint tensor becomes in a package of a given precision (see the layout notes in
 * src/protocol/manifest.ts):
 *   decoder linears + lm_head  fp32: float32 row-major;  q4*: int4 block-32 codes + scales
 *   embedding table            fp32: float32;  q4*: float16 (the engine's gather kernel reads it)
 *   everything else            float32 (fp32, q4f32) or float16 (q4f16), row-major; the vision patch
 *                              embedding flattened to [E, C·T·P·P]
 * With tied embeddings the lm_head entry (`WEIGHTS.lmHead`) is produced from the table.
 * A splittable weight (src/protocol/weight-parts.ts) larger than `maxWeightPartBytes` is written as row parts:
 * `rowParts` lists their row counts (one entry: stored whole).
 */
import type { ModelSpec } from '../../protocol/model-spec';
import type { Precision, WeightDtype } from '../../protocol/manifest';
import { precisionDtypes } from '../../protocol/precision-dtypes';
import { int4BlocksPerRow } from '../../protocol/int4-layout';
import { allDecoderLinears, checkpointTensorShapes, scalesName, WEIGHTS } from '../../protocol/weight-names';
import { DEFAULT_MAX_WEIGHT_PART_BYTES, partName, splittableWeights, splitRows } from '../../protocol/weight-parts';

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
  /** Rows of each row part, in order (adding up to shape[0]); one entry when the weight is stored whole. */
  readonly rowParts: readonly number[];
}

export interface WeightPlanOptions {
  /** Largest part of a splittable weight in bytes (int4: its codes); default 128 MiB. */
  readonly maxWeightPartBytes?: number;
}

/** Bytes of one row of `shape` in the package form `conversion` gives (int4: the codes, larger than the scales). */
export function packageRowBytes(shape: readonly number[], conversion: Conversion): number {
  const cols = shape.length === 1 ? (shape[0] ?? 1) : shape.slice(1).reduce((a, b) => a * b, 1);
  // int4: ceil(cols / 32) blocks of 16 bytes (a partial last block padded, src/protocol/int4-layout.ts).
  return conversion.kind === 'int4' ? int4BlocksPerRow(cols) * 16 : cols * (conversion.dtype === 'float32' ? 4 : 2);
}

/**
 * The manifest weights `planned` becomes, with their byte sizes: the weight or its row parts (`partName`), and for
 * int4 each one's scales — one GPU buffer and one storage binding each.
 */
export function plannedEntries(planned: PlannedWeight): { readonly name: string; readonly sizeBytes: number }[] {
  const rowBytes = packageRowBytes(planned.shape, planned.conversion);
  const names = planned.rowParts.length < 2 ? [planned.name] : planned.rowParts.map((_, i) => partName(planned.name, i));
  const c = planned.conversion;
  return names.flatMap((name, i) => {
    const rows = planned.rowParts[i] ?? 0;
    if (c.kind === 'float') return [{ name, sizeBytes: rows * rowBytes }];
    return [
      { name, sizeBytes: rows * rowBytes },
      // One scale per block, i.e. per 16 bytes of codes.
      { name: scalesName(name), sizeBytes: ((rows * rowBytes) / 16) * (c.scaleDtype === 'float32' ? 4 : 2) },
    ];
  });
}

export function planWeights(spec: ModelSpec, precision: Precision, options: WeightPlanOptions = {}): PlannedWeight[] {
  const dtypes = precisionDtypes(precision);
  const plan: PlannedWeight[] = [];
  const shapes = checkpointTensorShapes(spec);
  if (spec.text.tieWordEmbeddings) shapes.set(WEIGHTS.lmHead, [spec.text.vocabSize, spec.text.hiddenSize]);
  const decoderLinears = new Set(allDecoderLinears(spec));
  const splittable = splittableWeights(spec);
  const maxPartBytes = options.maxWeightPartBytes ?? DEFAULT_MAX_WEIGHT_PART_BYTES;
  const planned: Omit<PlannedWeight, 'rowParts'>[] = [];
  for (const [name, shape] of shapes) {
    const source = name === WEIGHTS.lmHead && spec.text.tieWordEmbeddings ? WEIGHTS.embedTokens : name;
    if (name === WEIGHTS.patchEmbed) {
      const [out = 0, ...rest] = shape;
      planned.push({ name, source, shape: [out, rest.reduce((a, b) => a * b, 1)], conversion: { kind: 'float', dtype: dtypes.floatWeights } });
    } else if (decoderLinears.has(name) && dtypes.decoderLinears === 'int4') {
      planned.push({ name, source, shape, conversion: { kind: 'int4', scaleDtype: dtypes.int4Scales } });
    } else if (name === WEIGHTS.embedTokens) {
      planned.push({ name, source, shape, conversion: { kind: 'float', dtype: dtypes.embeddingTable } });
    } else {
      planned.push({ name, source, shape, conversion: { kind: 'float', dtype: dtypes.floatWeights } });
    }
  }
  for (const w of planned) {
    const rows = w.shape.length === 1 ? 1 : (w.shape[0] ?? 1);
    plan.push({ ...w, rowParts: splittable.has(w.name) ? splitRows(w.name, rows, packageRowBytes(w.shape, w.conversion), maxPartBytes) : [rows] });
  }
  return plan;
}
