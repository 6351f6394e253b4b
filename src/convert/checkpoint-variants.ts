/**
 * The variants a checkpoint can be converted into, described as a variant index (src/protocol/variant-index.ts)
 * before anything is converted: the engine chooses among them as it does among published variants (fit, memory,
 * shader-f16), from the exact weight sizes of each precision's weight plan and the package size estimate.
 */
import type { PrecisionVariant } from '../protocol/api';
import { MANIFEST_FILE_NAME } from '../protocol/manifest';
import { needsShaderF16 } from '../protocol/precision-dtypes';
import { type VariantEntry, type VariantIndex, VARIANT_INDEX_FORMAT_VERSION } from '../protocol/variant-index';
import type { CheckpointHeader } from './convert-checkpoint';
import { estimatePackageBytes, type PackageShapeOptions } from './package/package-writer';
import { plannedEntries, planWeights } from './package/weight-plan';

/** The variants a conversion offers by default (fp32 only when asked for: it is the parity baseline, 4× larger). */
export const CONVERTED_PRECISIONS: readonly PrecisionVariant[] = ['q4f16', 'q4f32'];

/** An index of `precisions` for `header`'s model; each entry's `path` is its precision, its manifest not yet written. */
export function estimatedVariantIndex(header: CheckpointHeader, precisions: readonly PrecisionVariant[], options: PackageShapeOptions = {}): VariantIndex {
  const variants = precisions.map((precision): VariantEntry => {
    const plan = planWeights(header.spec, precision, options);
    const entries = plan.flatMap((w) => plannedEntries(w));
    let largestWeight = { name: '', sizeBytes: 0 };
    for (const e of entries) if (e.sizeBytes > largestWeight.sizeBytes) largestWeight = { name: e.name, sizeBytes: e.sizeBytes };
    return {
      precision,
      needsShaderF16: needsShaderF16(precision),
      downloadBytes: estimatePackageBytes(plan, 0),
      weightBytes: entries.reduce((n, e) => n + e.sizeBytes, 0),
      largestWeight,
      path: precision,
      manifest: { path: `${precision}/${MANIFEST_FILE_NAME}`, sizeBytes: 0, sha256: '' },
    };
  });
  return { formatVersion: VARIANT_INDEX_FORMAT_VERSION, model: header.spec, imageProcessor: header.imageProcessor, variants };
}
