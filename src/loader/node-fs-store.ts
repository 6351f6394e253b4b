/** ModelStore on the local file system, for Node (CLI, tests, benchmarks). Browser code uses OpfsStore. */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { assertSafePath, type ModelStore, type StoreFileWriter, type StoredModel, type StoreWriter, VERIFIED_SUFFIX } from './model-store';

export class NodeFsStore implements ModelStore {
  constructor(private readonly root: string) {}

  private file(modelId: string, path: string): string {
    assertSafePath(modelId);
    assertSafePath(path);
    return join(this.root, modelId, path);
  }

  async size(modelId: string, path: string): Promise<number> {
    try {
      return (await stat(this.file(modelId, path))).size;
    } catch {
      return 0;
    }
  }

  async verifiedSha256(modelId: string, path: string): Promise<string | null> {
    try {
      const [marker, size] = [await readFile(this.file(modelId, path) + VERIFIED_SUFFIX, 'utf8'), await this.size(modelId, path)];
      return size > 0 ? marker.trim() : null;
    } catch {
      return null;
    }
  }

  async append(modelId: string, path: string, options: { truncate: boolean }): Promise<StoreWriter> {
    const target = this.file(modelId, path);
    await mkdir(dirname(target), { recursive: true });
    await rm(target + VERIFIED_SUFFIX, { force: true });
    const handle = await open(target, options.truncate ? 'w' : 'a');
    return {
      async write(chunk) {
        await handle.write(chunk);
      },
      async close() {
        await handle.close();
      },
    };
  }

  async openWriter(modelId: string, path: string, at: number): Promise<StoreFileWriter> {
    const target = this.file(modelId, path);
    await mkdir(dirname(target), { recursive: true });
    await rm(target + VERIFIED_SUFFIX, { force: true });
    const handle = await open(target, at === 0 ? 'w' : 'r+');
    try {
      await handle.truncate(at);
    } catch (e) {
      await handle.close();
      throw e;
    }
    let position = at;
    return {
      async write(chunk) {
        let off = 0;
        while (off < chunk.byteLength) off += (await handle.write(chunk, off, chunk.byteLength - off, position + off)).bytesWritten;
        position += chunk.byteLength;
      },
      // Written bytes are in the OS's cache once write resolves: they survive the process, which is what a resume
      // needs. Not fsync: a power cut may lose them (the journal is not synced either).
      flush: () => Promise.resolve(),
      async close() {
        await handle.close();
      },
    };
  }

  async read(modelId: string, path: string): Promise<ReadableStream<Uint8Array>> {
    return Readable.toWeb(createReadStream(this.file(modelId, path))) as ReadableStream<Uint8Array>;
  }

  async markVerified(modelId: string, path: string, sha256: string): Promise<void> {
    await writeFile(this.file(modelId, path) + VERIFIED_SUFFIX, sha256);
  }

  async discard(modelId: string, path: string): Promise<void> {
    const target = this.file(modelId, path);
    await rm(target, { force: true });
    await rm(target + VERIFIED_SUFFIX, { force: true });
  }

  async list(): Promise<StoredModel[]> {
    let ids: string[];
    try {
      ids = (await readdir(this.root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
    const out: StoredModel[] = [];
    for (const modelId of ids) {
      let sizeBytes = 0;
      let files = 0;
      for (const entry of await readdir(join(this.root, modelId), { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || entry.name.endsWith(VERIFIED_SUFFIX)) continue;
        sizeBytes += (await stat(join(entry.parentPath, entry.name))).size;
        files++;
      }
      out.push({ modelId, sizeBytes, files });
    }
    return out;
  }

  async deleteModel(modelId: string): Promise<void> {
    assertSafePath(modelId);
    await rm(join(this.root, modelId), { recursive: true, force: true });
  }

  async availableBytes(): Promise<number | null> {
    try {
      await mkdir(this.root, { recursive: true });
      const s = await statfs(this.root);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  }
}
