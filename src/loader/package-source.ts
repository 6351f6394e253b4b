/**
 * Read access to the files of one model package, wherever they are: a ModelStore after download (browser:
 * OPFS), or a local directory (Node). The engine reads small files whole and streams shards.
 */
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, type PackageManifest, parseManifest } from '../protocol/manifest';
import type { ModelStore } from './model-store';

export interface PackageSource {
  /** A stable id (cache key, logs). */
  readonly id: string;
  readBytes(path: string): Promise<Uint8Array>;
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

/** Reads a whole stream into one array (for the small files of a package: graphs, tokenizer, configs). */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A package already downloaded into a ModelStore. */
export class StoreSource implements PackageSource {
  constructor(
    private readonly store: ModelStore,
    readonly id: string,
  ) {}

  async readBytes(path: string): Promise<Uint8Array> {
    return readAll(await this.store.read(this.id, path));
  }

  stream(path: string): Promise<ReadableStream<Uint8Array>> {
    return this.store.read(this.id, path);
  }
}
