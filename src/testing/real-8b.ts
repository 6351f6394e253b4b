/**
 * Test data of the real Sarashina2-Vision-8B without its weights: the spec from its verbatim config.json
 * (export/reference/fixtures/real-configs), and each variant's weight bytes and largest weight buffer as the exporter
 * plans them (src/convert/package/weight-plan.ts): what a variants.json of the real model would say.
 */
import { readFileSync } from 'node:fs';
import { parseModelConfig } from '../convert/hf-config';
import { plannedEntries, planWeights } from '../convert/package/weight-plan';
import type { Precision } from '../protocol/manifest';
import type { ModelSpec } from '../protocol/model-spec';
import { QWEN2_VL_IMAGE_DEFAULTS } from '../protocol/model-spec';
import { needsShaderF16 } from '../protocol/precision-dtypes';
import { type VariantEntry, type VariantIndex, VARIANT_INDEX_FORMAT_VERSION } from '../protocol/variant-index';

export const REAL_8B_CONFIG = 'export/reference/fixtures/real-configs/sarashina2-vision-8b/config.json';

export function real8bSpec(): ModelSpec {
  return parseModelConfig(JSON.parse(readFileSync(REAL_8B_CONFIG, 'utf8')) as unknown);
}

/**
 * Weight bytes and the largest weight buffer of the 8B in `precision`, from the exporter's weight plan with its
 * default part limit (weights over 128 MiB as row parts): what its variants.json would say.
 */
export function real8bWeights(precision: Precision): { weightBytes: number; largestWeight: { name: string; sizeBytes: number } } {
  let weightBytes = 0;
  let largestWeight = { name: '', sizeBytes: 0 };
  for (const w of planWeights(real8bSpec(), precision)) {
    for (const { name, sizeBytes } of plannedEntries(w)) {
      weightBytes += sizeBytes;
      if (sizeBytes > largestWeight.sizeBytes) largestWeight = { name, sizeBytes };
    }
  }
  return { weightBytes, largestWeight };
}

/** A variants.json of the real 8B offering `precisions` (downloadBytes: the weights; the manifests are not real). */
export function real8bIndex(precisions: readonly Precision[]): VariantIndex {
  const variants = precisions.map((precision): VariantEntry => {
    const w = real8bWeights(precision);
    return { precision, needsShaderF16: needsShaderF16(precision), downloadBytes: w.weightBytes, ...w, path: precision, manifest: { path: `${precision}/manifest.json`, sizeBytes: 1, sha256: '0'.repeat(64) } };
  });
  return { formatVersion: VARIANT_INDEX_FORMAT_VERSION, model: real8bSpec(), imageProcessor: QWEN2_VL_IMAGE_DEFAULTS, variants };
}
