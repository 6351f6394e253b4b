/**
 * The variant index (`variants.json`): one published model in several precision variants, each a complete
 * package (manifest.json, graphs, shards) in its own folder next to the index:
 *
 *   DIR/variants.json      this index: the model's spec and, per variant, its folder, sizes and needs
 *   DIR/q4f16/manifest.json …
 *   DIR/q4f32/manifest.json …
 *
 * The engine reads the index first and picks a variant from these numbers alone (no variant's manifest, nothing
 * large); then it reads that variant's manifest.json and checks it against its entry (checkVariantManifest).
 * A plain package URL (a folder holding manifest.json) still loads as before: a model with one variant.
 */
import type { PrecisionVariant } from './api';
import { SarashinaError } from './errors';
import { jsonFields } from './json-fields';
import { MANIFEST_FILE_NAME, type PackageFile, type PackageManifest, packageFiles, parseFile, parseImageProcessor, parseModelSpec, PRECISIONS } from './manifest';
import type { ImageProcessorSpec, ModelSpec } from './model-spec';
import { needsShaderF16 } from './precision-dtypes';

export const VARIANT_INDEX_FILE_NAME = 'variants.json';
export const VARIANT_INDEX_FORMAT_VERSION = 1;

/** What choosing a variant needs to know about it without its manifest. */
export interface VariantSummary {
  readonly precision: PrecisionVariant;
  /** Whether its shaders compute in f16 (needsShaderF16 of the precision). */
  readonly needsShaderF16: boolean;
  /** Bytes of every file the engine downloads (the manifest's files; the manifest itself not counted). */
  readonly downloadBytes: number;
  /** Bytes of all weights, i.e. of the weight buffers on the GPU. */
  readonly weightBytes: number;
  /**
   * The largest weight buffer: one storage binding (a row part of a weight stored split, src/protocol/weight-parts.ts;
   * the exporter's default part limit keeps it ≤ 128 MiB).
   */
  readonly largestWeight: { readonly name: string; readonly sizeBytes: number };
}

export interface VariantEntry extends VariantSummary {
  /** The variant's folder, relative to the index (e.g. 'q4f16'). */
  readonly path: string;
  /** Its manifest.json (path relative to the index, size, sha256): the index names exactly one export. */
  readonly manifest: PackageFile;
}

export interface VariantIndex {
  readonly formatVersion: typeof VARIANT_INDEX_FORMAT_VERSION;
  /** The model's spec, the same in every variant: the shapes of the memory estimate (KV cache, activations). */
  readonly model: ModelSpec;
  /** The image preprocessing, the same in every variant: its maxPixels bounds the vision activations. */
  readonly imageProcessor: ImageProcessorSpec;
  readonly variants: readonly VariantEntry[];
}

/** The summary of a package from its manifest (what its index entry must say). */
export function summarizeManifest(manifest: PackageManifest): VariantSummary {
  let largestWeight = { name: '', sizeBytes: -1 };
  let weightBytes = 0;
  for (const [name, w] of Object.entries(manifest.weights)) {
    weightBytes += w.sizeBytes;
    if (w.sizeBytes > largestWeight.sizeBytes) largestWeight = { name, sizeBytes: w.sizeBytes };
  }
  return {
    precision: manifest.precision,
    needsShaderF16: needsShaderF16(manifest.precision),
    downloadBytes: packageFiles(manifest).reduce((n, f) => n + f.sizeBytes, 0),
    weightBytes,
    largestWeight: largestWeight.sizeBytes < 0 ? { name: '', sizeBytes: 0 } : largestWeight,
  };
}

/** One variant as the exporter wrote it: its folder, its manifest and that manifest file's size and sha256. */
export interface WrittenVariant {
  readonly path: string;
  readonly manifest: PackageManifest;
  readonly manifestFile: { readonly sizeBytes: number; readonly sha256: string };
}

/**
 * The index of `variants` (in the given order). Throws 'invalid-request' when they are not one model (different
 * specs or image processors), when a precision repeats, or when a folder name is not a plain name.
 */
export function buildVariantIndex(variants: readonly WrittenVariant[]): VariantIndex {
  const first = variants[0];
  if (!first) throw new SarashinaError('invalid-request', 'A variant index needs at least one variant. Export at least one precision.');
  const seen = new Set<string>();
  const entries = variants.map((v): VariantEntry => {
    if (!isPlainFolder(v.path)) throw new SarashinaError('invalid-request', `Variant folder ${JSON.stringify(v.path)} must be one plain folder name (letters, digits, . _ -).`, { path: v.path });
    if (seen.has(v.manifest.precision)) throw new SarashinaError('invalid-request', `Precision ${v.manifest.precision} is listed twice. Export each precision once.`, { precision: v.manifest.precision });
    seen.add(v.manifest.precision);
    if (!sameJson(v.manifest.model, first.manifest.model) || !sameJson(v.manifest.imageProcessor, first.manifest.imageProcessor)) {
      throw new SarashinaError('invalid-request', `Variant ${v.path} is not the same model as ${first.path} (model or image processor differ). Export every variant from one checkpoint.`, { path: v.path });
    }
    return { ...summarizeManifest(v.manifest), path: v.path, manifest: { path: `${v.path}/${MANIFEST_FILE_NAME}`, ...v.manifestFile } };
  });
  return { formatVersion: VARIANT_INDEX_FORMAT_VERSION, model: first.manifest.model, imageProcessor: first.manifest.imageProcessor, variants: entries };
}

const fields = jsonFields(VARIANT_INDEX_FILE_NAME);
const { obj, arr, str, num, bool, oneOf } = fields;
/** A declared function, so that TypeScript narrows after it (it never returns). */
function invalid(field: string, expected: string, actual: unknown): never {
  return fields.invalid(field, expected, actual);
}

/**
 * Validates parsed variants.json. Cross-checks: precisions and folders are unique, each folder is a plain name and
 * its manifest lies inside it, needsShaderF16 matches the precision, the largest weight fits in the weight bytes.
 * Throws 'invalid-model' naming the field, the expected and the actual value.
 */
export function parseVariantIndex(json: unknown): VariantIndex {
  const o = obj(json, 'index');
  if (o.formatVersion !== VARIANT_INDEX_FORMAT_VERSION) invalid('formatVersion', String(VARIANT_INDEX_FORMAT_VERSION), o.formatVersion);
  const list = arr(o.variants, 'variants');
  if (list.length === 0) invalid('variants', 'a non-empty array', list);
  const variants = list.map((v, i): VariantEntry => {
    const f = `variants[${i}]`;
    const e = obj(v, f);
    const precision = oneOf(e.precision, `${f}.precision`, PRECISIONS);
    const path = str(e.path, `${f}.path`);
    if (!isPlainFolder(path)) invalid(`${f}.path`, 'one plain folder name (letters, digits, . _ -)', path);
    const manifest = parseFile(e.manifest, `${f}.manifest`, fields);
    if (manifest.path !== `${path}/${MANIFEST_FILE_NAME}`) invalid(`${f}.manifest.path`, `${path}/${MANIFEST_FILE_NAME}`, manifest.path);
    const f16 = bool(e.needsShaderF16, `${f}.needsShaderF16`);
    if (f16 !== needsShaderF16(precision)) invalid(`${f}.needsShaderF16`, `${needsShaderF16(precision)} for ${precision}`, f16);
    const weightBytes = num(e.weightBytes, `${f}.weightBytes`, { int: true, min: 0 });
    const lw = obj(e.largestWeight, `${f}.largestWeight`);
    const largestWeight = { name: str(lw.name, `${f}.largestWeight.name`), sizeBytes: num(lw.sizeBytes, `${f}.largestWeight.sizeBytes`, { int: true, min: 0 }) };
    if (largestWeight.sizeBytes > weightBytes) invalid(`${f}.largestWeight.sizeBytes`, `at most weightBytes (${weightBytes})`, largestWeight.sizeBytes);
    return { precision, needsShaderF16: f16, downloadBytes: num(e.downloadBytes, `${f}.downloadBytes`, { int: true, min: 0 }), weightBytes, largestWeight, path, manifest };
  });
  for (const key of ['precision', 'path'] as const) {
    const values = variants.map((v) => v[key]);
    const repeated = values.find((x, i) => values.indexOf(x) !== i);
    if (repeated !== undefined) invalid(`variants[${values.lastIndexOf(repeated)}].${key}`, `a ${key} listed once`, repeated);
  }
  return {
    formatVersion: VARIANT_INDEX_FORMAT_VERSION,
    model: parseModelSpec(o.model, 'model', fields),
    imageProcessor: parseImageProcessor(o.imageProcessor, 'imageProcessor', fields),
    variants,
  };
}

/**
 * Checks that `manifest` is the package `entry` of `index` describes: its precision, model, image processor and
 * summary (sizes, largest weight). A mismatch means the index and the folder come from different exports:
 * 'invalid-model' naming the field and both values.
 */
export function checkVariantManifest(index: VariantIndex, entry: VariantEntry, manifest: PackageManifest): void {
  const s = summarizeManifest(manifest);
  const checks: [string, unknown, unknown][] = [
    ['precision', entry.precision, s.precision],
    ['model', index.model, manifest.model],
    ['imageProcessor', index.imageProcessor, manifest.imageProcessor],
    ['weightBytes', entry.weightBytes, s.weightBytes],
    ['downloadBytes', entry.downloadBytes, s.downloadBytes],
    ['largestWeight', entry.largestWeight, s.largestWeight],
  ];
  for (const [field, indexed, actual] of checks) {
    if (!sameJson(indexed, actual)) {
      const shown = (v: unknown): string => JSON.stringify(v)?.slice(0, 120) ?? String(v);
      throw new SarashinaError(
        'invalid-model',
        `${VARIANT_INDEX_FILE_NAME} says ${entry.path}'s ${field} is ${shown(indexed)}, but ${entry.manifest.path} says ${shown(actual)}: the index and the folder come from different exports. Publish the index and its variants from one export.`,
        { variant: entry.path, field, indexed: shown(indexed), actual: shown(actual) },
      );
    }
  }
}

function isPlainFolder(path: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(path) && path !== '.' && path !== '..';
}

/** Deep equality of JSON values written and parsed in the same key order (specs are built field by field). */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
