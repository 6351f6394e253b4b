/**
 * ModelStore in the Origin Private File System (browser main thread or worker). Survives reloads and works
 * offline; quota comes from navigator.storage.estimate(), and we ask for persistent storage.
 */
import { openOpfsWriter } from './opfs-writer';
import { assertSafePath, type ModelStore, type StoreFileWriter, type StoredModel, type StoreWriter, VERIFIED_SUFFIX } from './model-store';

const ROOT_DIR = 'sarashina-models';

export class OpfsStore implements ModelStore {
  private persistAsked = false;

  private async dirFor(modelId: string, path: string, create: boolean): Promise<{ dir: FileSystemDirectoryHandle; name: string }> {
    assertSafePath(modelId);
    assertSafePath(path);
    let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT_DIR, { create: true });
    const parts = [modelId, ...path.split('/')];
    const name = parts.pop() as string;
    for (const p of parts) dir = await dir.getDirectoryHandle(p, { create });
    return { dir, name };
  }

  private async fileHandle(modelId: string, path: string): Promise<FileSystemFileHandle | null> {
    try {
      const { dir, name } = await this.dirFor(modelId, path, false);
      return await dir.getFileHandle(name);
    } catch {
      return null;
    }
  }

  async size(modelId: string, path: string): Promise<number> {
    const h = await this.fileHandle(modelId, path);
    return h ? (await h.getFile()).size : 0;
  }

  async verifiedSha256(modelId: string, path: string): Promise<string | null> {
    const marker = await this.fileHandle(modelId, path + VERIFIED_SUFFIX);
    if (!marker || (await this.size(modelId, path)) === 0) return null;
    return (await (await marker.getFile()).text()).trim();
  }

  async append(modelId: string, path: string, options: { truncate: boolean }): Promise<StoreWriter> {
    await this.discardMarker(modelId, path);
    const { dir, name } = await this.dirFor(modelId, path, true);
    const handle = await dir.getFileHandle(name, { create: true });
    const size = options.truncate ? 0 : (await handle.getFile()).size;
    const writable = await handle.createWritable({ keepExistingData: !options.truncate });
    if (options.truncate) await writable.truncate(0);
    else await writable.seek(size);
    return {
      async write(chunk) {
        await writable.write(chunk as Uint8Array<ArrayBuffer>);
      },
      async close() {
        await writable.close();
      },
    };
  }

  async openWriter(modelId: string, path: string, at: number): Promise<StoreFileWriter> {
    await this.discardMarker(modelId, path);
    const { dir, name } = await this.dirFor(modelId, path, true);
    return openOpfsWriter(await dir.getFileHandle(name, { create: true }), at);
  }

  async read(modelId: string, path: string): Promise<ReadableStream<Uint8Array>> {
    const h = await this.fileHandle(modelId, path);
    if (!h) throw new Error(`not in the model cache: ${modelId}/${path}`);
    return (await h.getFile()).stream();
  }

  async markVerified(modelId: string, path: string, sha256: string): Promise<void> {
    const { dir, name } = await this.dirFor(modelId, path + VERIFIED_SUFFIX, true);
    const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
    await w.write(sha256);
    await w.close();
  }

  async discard(modelId: string, path: string): Promise<void> {
    await this.discardMarker(modelId, path);
    try {
      const { dir, name } = await this.dirFor(modelId, path, false);
      await dir.removeEntry(name);
    } catch {
      // absent already
    }
  }

  private async discardMarker(modelId: string, path: string): Promise<void> {
    try {
      const { dir, name } = await this.dirFor(modelId, path + VERIFIED_SUFFIX, false);
      await dir.removeEntry(name);
    } catch {
      // no marker
    }
  }

  async list(): Promise<StoredModel[]> {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT_DIR, { create: true });
    const out: StoredModel[] = [];
    for await (const [modelId, handle] of root.entries()) {
      if (handle.kind !== 'directory') continue;
      const totals = { sizeBytes: 0, files: 0 };
      await walk(handle as FileSystemDirectoryHandle, totals);
      out.push({ modelId, ...totals });
    }
    return out;
  }

  async deleteModel(modelId: string): Promise<void> {
    assertSafePath(modelId);
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT_DIR, { create: true });
    await root.removeEntry(modelId, { recursive: true }).catch(() => undefined);
  }

  async availableBytes(): Promise<number | null> {
    if (!this.persistAsked && navigator.storage.persist) {
      this.persistAsked = true;
      await navigator.storage.persist().catch(() => false);
    }
    const { quota, usage } = await navigator.storage.estimate();
    return quota === undefined ? null : quota - (usage ?? 0);
  }
}

async function walk(dir: FileSystemDirectoryHandle, totals: { sizeBytes: number; files: number }): Promise<void> {
  for await (const [name, handle] of dir.entries()) {
    if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, totals);
    else if (!name.endsWith(VERIFIED_SUFFIX)) {
      totals.sizeBytes += (await (handle as FileSystemFileHandle).getFile()).size;
      totals.files++;
    }
  }
}
