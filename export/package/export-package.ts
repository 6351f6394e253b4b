/**
 * `exportPackage`: a Hugging Face Sarashina2-Vision checkpoint (directory or http(s) base URL) → our model package
 * in a directory. The conversion is src/convert/convert-checkpoint.ts, the one the browser runs; this file only
 * opens the Node source (openCheckpointLocation) and the directory sink (partial folder + rename).
 */
import { convertCheckpoint, type ConvertOptions } from '../../src/convert/convert-checkpoint';
import { DirectorySink } from '../../src/convert/node-directory-sink';
import { openCheckpointLocation } from '../../src/convert/node-checkpoint-source';
import { checkPackageOptions, type ExportResult } from '../../src/convert/package/package-writer';

export { DEFAULT_MAX_SHARD_BYTES, EXPORTER_VERSION, type ExportResult } from '../../src/convert/package/package-writer';

export interface ExportOptions extends ConvertOptions {
  /** Replace an existing `outDir` (only after the new package is complete). */
  readonly overwrite?: boolean;
  readonly fetchImpl?: typeof fetch;
}

/** Exports `source` into `outDir`. Errors are SarashinaErrors naming the file and tensor. */
export async function exportPackage(source: string, outDir: string, options: ExportOptions): Promise<ExportResult> {
  const { overwrite, fetchImpl, resumable, ...convert } = options;
  checkPackageOptions(options);
  const sink = new DirectorySink(outDir, { ...(overwrite === undefined ? {} : { overwrite }), ...(resumable === undefined ? {} : { resumable }) });
  // A wrong --out fails before the source is read.
  await sink.checkTarget();
  return convertCheckpoint(openCheckpointLocation(source, fetchImpl ? { fetchImpl } : {}), sink, { ...convert, ...(resumable === undefined ? {} : { resumable }) });
}
