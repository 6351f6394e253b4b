/**
 * `exportVariants`: one checkpoint → a model published in several precision variants:
 *
 *   <out>/<precision>/   a complete package per precision, written by exportPackage exactly as a single export
 *   <out>/variants.json  the index the engine reads first (src/protocol/variant-index.ts)
 *
 * Written into `<out>.partial-<pid>` and renamed only once every variant and the index are complete; any failure
 * removes the partial directory.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SarashinaError } from '../../src/protocol/errors';
import { MANIFEST_FILE_NAME, type Precision } from '../../src/protocol/manifest';
import { buildVariantIndex, parseVariantIndex, VARIANT_INDEX_FILE_NAME, type VariantIndex, type WrittenVariant } from '../../src/protocol/variant-index';
import { type ExportOptions, type ExportResult, exportPackage } from './export-package';
import { checkPackageOptions } from '../../src/convert/package/package-writer';
import { DirectorySink } from '../../src/convert/node-directory-sink';
import { fileWriteError } from '../../src/convert/package/write-error';

export interface ExportVariantsOptions extends Omit<ExportOptions, 'precision'> {
  /** One folder per precision, in this order in the index. */
  readonly precisions: readonly Precision[];
  /** Called when a variant's export starts (its progress follows through onProgress). */
  readonly onVariant?: (precision: Precision, index: number) => void;
}

export interface ExportVariantsResult {
  readonly outDir: string;
  readonly index: VariantIndex;
  readonly variants: readonly ExportResult[];
  /** Bytes of all files written (every variant and the index). */
  readonly totalBytes: number;
}

/** Exports `source` once per precision into `outDir`/<precision>/ and writes `outDir`/variants.json. */
export async function exportVariants(source: string, outDir: string, options: ExportVariantsOptions): Promise<ExportVariantsResult> {
  const { precisions, onVariant, ...rest } = options;
  if (precisions.length === 0) throw new SarashinaError('invalid-request', 'No precision to export. Pass at least one of fp32, q4f32, q4f16.', {});
  const repeated = precisions.find((p, i) => precisions.indexOf(p) !== i);
  if (repeated) throw new SarashinaError('invalid-request', `Precision ${repeated} is listed twice. List each precision once.`, { precision: repeated });
  checkPackageOptions(options);
  await new DirectorySink(outDir, options.overwrite === undefined ? {} : { overwrite: options.overwrite }).checkTarget();
  const partial = `${outDir}.partial-${process.pid}`;
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
  } catch (cause) {
    throw fileWriteError(partial, cause);
  }
  try {
    const results: ExportResult[] = [];
    const written: WrittenVariant[] = [];
    for (const [i, precision] of precisions.entries()) {
      onVariant?.(precision, i);
      const result = await exportPackage(source, join(partial, precision), { ...rest, precision, overwrite: false });
      const manifestBytes = await readFile(join(partial, precision, MANIFEST_FILE_NAME));
      results.push(result);
      written.push({ path: precision, manifest: result.manifest, manifestFile: { sizeBytes: manifestBytes.byteLength, sha256: createHash('sha256').update(manifestBytes).digest('hex') } });
    }
    const index = buildVariantIndex(written);
    // What we write must pass the same validation the engine applies.
    parseVariantIndex(JSON.parse(JSON.stringify(index)));
    const indexBytes = new TextEncoder().encode(`${JSON.stringify(index, null, 1)}\n`);
    try {
      await writeFile(join(partial, VARIANT_INDEX_FILE_NAME), indexBytes, { flag: 'wx' });
    } catch (cause) {
      throw fileWriteError(join(partial, VARIANT_INDEX_FILE_NAME), cause);
    }
    await rm(outDir, { recursive: true, force: true });
    await mkdir(dirname(outDir), { recursive: true });
    try {
      await rename(partial, outDir);
    } catch (cause) {
      throw fileWriteError(outDir, cause);
    }
    const totalBytes = indexBytes.byteLength + written.reduce((n, v) => n + v.manifestFile.sizeBytes, 0) + results.reduce((n, r) => n + r.totalBytes, 0);
    return { outDir, index, variants: results.map((r, i) => ({ ...r, outDir: join(outDir, precisions[i] ?? '') })), totalBytes };
  } catch (e) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}
