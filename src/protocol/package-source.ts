/**
 * Read access to the files of one model package, wherever they are: a ModelStore after download (browser:
 * OPFS) or a local directory (Node). Implemented in src/loader; the model runtime reads through it.
 */
import { SarashinaError } from './errors';
import { MANIFEST_FILE_NAME, type PackageManifest, parseManifest } from './manifest';

export interface PackageSource {
  /** A stable id (cache key, logs). */
  readonly id: string;
  /** A whole (small) file: graphs, tokenizer, configs. */
  readBytes(path: string): Promise<Uint8Array>;
  /** A file as a stream: weight shards. */
  stream(path: string): Promise<ReadableStream<Uint8Array>>;
}

/** Reads and validates manifest.json from a source. */
export async function readManifest(source: PackageSource): Promise<PackageManifest> {
  const bytes = await source.readBytes(MANIFEST_FILE_NAME);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new SarashinaError('invalid-model', `${source.id}/${MANIFEST_FILE_NAME} is not valid JSON. Re-export the package.`, {}, { cause });
  }
  return parseManifest(json);
}
