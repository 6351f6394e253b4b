/**
 * A PackageSink over a ModelStore: OPFS in the browser (OpfsStore), the Node cache (NodeFsStore). The package's
 * files go under `modelId` exactly as a downloaded package's do, so the loader opens a converted package like a
 * downloaded one (StoreSource). Complete = every file marked verified, manifest.json's marker last
 * (`isStoredPackageComplete`); until then the folder holds the journal and finished shards for a resume.
 */
import { MANIFEST_FILE_NAME } from '../protocol/manifest';
import type { ModelStore } from '../loader/model-store';
import { Sha256 } from '../loader/sha256';
import type { PackageSink, SinkFile } from './package-sink';

export const CONVERT_JOURNAL_FILE = 'convert-journal.json';

/** An incremental hash (the store's: pure-JS SHA-256 by default; Node passes node:crypto's). */
export interface IncrementalHash {
  update(bytes: Uint8Array): unknown;
  digestHex(): string;
}

export interface StoreSinkOptions {
  readonly newHash?: () => IncrementalHash;
}

/** True when the store holds a complete converted (or downloaded) package under `modelId`. */
export async function isStoredPackageComplete(store: ModelStore, modelId: string): Promise<boolean> {
  return (await store.verifiedSha256(modelId, MANIFEST_FILE_NAME)) !== null;
}

export class StoreSink implements PackageSink {
  readonly location: string;
  /** path → sha256 of the files re-read by hashFile (the verification): what complete() marks verified. */
  private readonly verified = new Map<string, string>();
  private readonly newHash: () => IncrementalHash;

  constructor(
    private readonly store: ModelStore,
    private readonly modelId: string,
    options: StoreSinkOptions = {},
  ) {
    this.location = modelId;
    this.newHash = options.newHash ?? (() => new Sha256());
  }

  async begin(): Promise<Uint8Array | null> {
    if ((await this.store.size(this.modelId, CONVERT_JOURNAL_FILE)) === 0) return null;
    return this.readWhole(CONVERT_JOURNAL_FILE);
  }

  async createFile(path: string): Promise<SinkFile> {
    this.verified.delete(path);
    const writer = await this.store.append(this.modelId, path, { truncate: true });
    const hash = this.newHash();
    let sizeBytes = 0;
    return {
      write: async (bytes) => {
        await writer.write(bytes);
        hash.update(bytes);
        sizeBytes += bytes.byteLength;
      },
      finish: async () => {
        await writer.close();
        return { sizeBytes, sha256: hash.digestHex() };
      },
      abort: async () => {
        await writer.close().catch(() => undefined);
      },
    };
  }

  async hashFile(path: string): Promise<{ sizeBytes: number; sha256: string } | null> {
    if ((await this.store.size(this.modelId, path)) === 0) return null;
    const reader = (await this.store.read(this.modelId, path)).getReader();
    const hash = this.newHash();
    let sizeBytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      sizeBytes += value.byteLength;
    }
    const sha256 = hash.digestHex();
    this.verified.set(path, sha256);
    return { sizeBytes, sha256 };
  }

  async writeJournal(bytes: Uint8Array): Promise<void> {
    const writer = await this.store.append(this.modelId, CONVERT_JOURNAL_FILE, { truncate: true });
    try {
      await writer.write(bytes);
    } finally {
      await writer.close();
    }
  }

  async complete(): Promise<void> {
    await this.store.discard(this.modelId, CONVERT_JOURNAL_FILE);
    for (const [path, sha256] of this.verified) if (path !== MANIFEST_FILE_NAME) await this.store.markVerified(this.modelId, path, sha256);
    const manifest = this.verified.get(MANIFEST_FILE_NAME);
    if (manifest === undefined) throw new Error('StoreSink.complete before manifest.json was written and verified');
    await this.store.markVerified(this.modelId, MANIFEST_FILE_NAME, manifest);
  }

  async discard(): Promise<void> {
    this.verified.clear();
    await this.store.deleteModel(this.modelId);
  }

  availableBytes(): Promise<number | null> {
    return this.store.availableBytes();
  }

  private async readWhole(path: string): Promise<Uint8Array> {
    const reader = (await this.store.read(this.modelId, path)).getReader();
    const parts: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}
