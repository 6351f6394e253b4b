/**
 * Row parts: how a weight larger than one storage binding is stored. WebGPU guarantees only 128 MiB per storage
 * binding (maxStorageBufferBindingSize) and 256 MiB per buffer, and neither our kernels nor onnxruntime-web can bind
 * a buffer past the adapter's limit; the 8B's f16 embedding table is 839 MB and its int4 lm_head 210 MB. So the
 * exporter cuts such a weight into row parts (whole output rows; an int4 weight's codes and scales at the same rows),
 * each an ordinary manifest weight named `partName(name, i)`, and records the cut in the manifest's `weightSplits`.
 * The graphs multiply by each part and concatenate along the output axis; our GEMVs write each part's rows of y
 * (a uniform offset, so y is bound whole); the embedding gather reads each id from the part holding its row.
 *
 * Which weights are cut: the decoder linears, lm_head and the embedding table (SPLITTABLE_WEIGHTS) — the only
 * ones past 128 MiB in any Sarashina2-Vision package (the largest vision weight, the merger's 5120 × 5120 f32
 * matrix, is 105 MB). Rows per part: as many whole rows as fit the limit, the last part takes the rest.
 */
import { SarashinaError } from './errors';
import type { ModelSpec } from './model-spec';
import { allDecoderLinears, WEIGHTS } from './weight-names';

/** Default largest part: the storage binding size every WebGPU adapter grants (the spec's default limit). */
export const DEFAULT_MAX_WEIGHT_PART_BYTES = 134_217_728;

/** A weight's cut as the manifest records it: total rows, and its parts in row order (their first dims add up to rows). */
export interface WeightSplit {
  readonly rows: number;
  readonly parts: readonly string[];
}

/** One row part of a weight: the manifest weight that holds rows [firstRow, firstRow + rows). */
export interface RowPart {
  readonly name: string;
  readonly firstRow: number;
  readonly rows: number;
}

/** The manifest weight holding part `index` of `name` (an int4 part's scales: scalesName of this). */
export function partName(name: string, index: number): string {
  return `${name}.part${index}`;
}

/** The weights the exporter may cut into row parts: every decoder linear (lm_head included) and the embedding table. */
export function splittableWeights(spec: ModelSpec): Set<string> {
  return new Set([...allDecoderLinears(spec), WEIGHTS.embedTokens]);
}

/**
 * Rows per part for a weight of `rows` rows of `rowBytes` bytes each (for int4: the codes' bytes per row, K / 2,
 * which are larger than the scales'), so that no part exceeds `maxPartBytes`: [rows] when the whole fits, else
 * full parts of ⌊maxPartBytes / rowBytes⌋ rows and a smaller last part. Throws 'invalid-request' when one row is
 * larger than the limit (rows are never cut).
 */
export function splitRows(name: string, rows: number, rowBytes: number, maxPartBytes: number): number[] {
  if (!Number.isInteger(maxPartBytes) || maxPartBytes <= 0) {
    throw new SarashinaError('invalid-request', `maxWeightPartBytes ${maxPartBytes} is not a positive whole number of bytes. Use e.g. ${DEFAULT_MAX_WEIGHT_PART_BYTES} (128 MiB).`, { maxPartBytes });
  }
  if (rows * rowBytes <= maxPartBytes) return [rows];
  const perPart = Math.floor(maxPartBytes / rowBytes);
  if (perPart < 1) {
    throw new SarashinaError(
      'invalid-request',
      `maxWeightPartBytes ${maxPartBytes} is smaller than one row of ${name} (${rowBytes} bytes); weights are split only between rows. Use at least ${rowBytes}.`,
      { weight: name, rowBytes, maxPartBytes },
    );
  }
  const out: number[] = [];
  for (let left = rows; left > 0; left -= perPart) out.push(Math.min(perPart, left));
  return out;
}

/** The part of a manifest (its weights and splits) that resolving row parts needs. */
export interface SplitSource {
  readonly weights: Readonly<Record<string, { readonly shape: readonly number[] }>>;
  readonly weightSplits: Readonly<Record<string, WeightSplit>>;
}

/**
 * The row parts of weight `name` in `m`: its split's parts with their first rows, or the whole weight as one part
 * when it is not split. Throws 'invalid-model' when the package has neither.
 */
export function weightRowParts(m: SplitSource, name: string): RowPart[] {
  const split = m.weightSplits[name];
  if (!split) {
    const w = m.weights[name];
    if (!w) throw new SarashinaError('invalid-model', `The package has no weight ${name}, which a graph or kernel needs. Re-export the package.`, { weight: name });
    return [{ name, firstRow: 0, rows: w.shape[0] ?? 1 }];
  }
  let firstRow = 0;
  return split.parts.map((part) => {
    const rows = m.weights[part]?.shape[0] ?? 0;
    const p = { name: part, firstRow, rows };
    firstRow += rows;
    return p;
  });
}

/** Rows per part of each weight `m` stores split (undefined for a weight stored whole): what the graph builders take. */
export function splitRowCounts(m: SplitSource): (name: string) => readonly number[] | undefined {
  return (name) => (m.weightSplits[name] ? weightRowParts(m, name).map((p) => p.rows) : undefined);
}
