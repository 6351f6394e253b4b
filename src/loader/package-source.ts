/** Package sources (the PackageSource interface lives in src/protocol) and reading the manifest. */
import { type PackageSource, readManifest } from '../protocol/package-source';
import type { ModelStore } from './model-store';

export { type PackageSource, readManifest };

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
