/**
 * `exportPackage`: a Hugging Face Sarashina2-Vision checkpoint (directory or http(s) base URL) → our model package
 * in a directory. The conversion is src/convert/convert-checkpoint.ts, the one the browser runs; this file only
 * opens the source (a directory, an http(s) folder, a Hub id: openExportSource) and the directory sink (partial
 * folder + rename).
 */
import { existsSync } from 'node:fs';
import type { CheckpointSource } from '../../src/convert/checkpoint-source';
import { isHubModel } from '../../src/convert/checkpoint-location';
import { convertCheckpoint, type ConvertOptions } from '../../src/convert/convert-checkpoint';
import { openHubCheckpoint } from '../../src/convert/hub-source';
import { DirectorySink } from '../../src/convert/node-directory-sink';
import { openCheckpointLocation } from '../../src/convert/node-checkpoint-source';
import { checkPackageOptions, type ExportResult } from '../../src/convert/package/package-writer';

export { DEFAULT_MAX_SHARD_BYTES, EXPORTER_VERSION, type ExportResult } from '../../src/convert/package/package-writer';

export interface ExportOptions extends ConvertOptions {
  /** Replace an existing `outDir` (only after the new package is complete). */
  readonly overwrite?: boolean;
  readonly fetchImpl?: typeof fetch;
  /** A Hub source's branch, tag or commit (default main). */
  readonly revision?: string;
  /** A Hub access token (private or gated repositories). */
  readonly token?: string;
  /** The Hub to resolve ids against (default https://huggingface.co). */
  readonly hubEndpoint?: string;
}

/**
 * The checkpoint at `source`: a local directory, an http(s) folder, or a Hugging Face Hub id / URL (a string that is
 * not an existing directory and reads as `org/name[@revision]`, or a URL on the Hub).
 */
export async function openExportSource(source: string, options: Pick<ExportOptions, 'fetchImpl' | 'revision' | 'token' | 'hubEndpoint' | 'signal'> = {}): Promise<CheckpointSource> {
  if (isHubModel(source, options.hubEndpoint) && !existsSync(source)) {
    return openHubCheckpoint(source, {
      ...(options.revision === undefined ? {} : { revision: options.revision }),
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.hubEndpoint === undefined ? {} : { endpoint: options.hubEndpoint }),
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  return openCheckpointLocation(source, options.fetchImpl ? { fetchImpl: options.fetchImpl } : {});
}

/** Exports `source` into `outDir`. Errors are SarashinaErrors naming the file and tensor. */
export async function exportPackage(source: string, outDir: string, options: ExportOptions): Promise<ExportResult> {
  const { overwrite, resumable } = options;
  checkPackageOptions(options);
  const sink = new DirectorySink(outDir, { ...(overwrite === undefined ? {} : { overwrite }), ...(resumable === undefined ? {} : { resumable }) });
  // A wrong --out fails before the source is read.
  await sink.checkTarget();
  const checkpoint = await openExportSource(source, options);
  // ExportOptions extends ConvertOptions: the source and sink options in it are not read by the converter.
  return convertCheckpoint(checkpoint, sink, options);
}
