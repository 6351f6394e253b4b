/**
 * A PackageSink over a ModelStore: OPFS in the browser (OpfsStore), the Node cache (NodeFsStore). The package's
 * files go under `modelId` exactly as a downloaded package's do, so the loader opens a converted package like a
 * downloaded one (StoreSource). Complete = every file marked verified, manifest.json's marker last
 * (`isStoredPackageComplete`); until then the folder holds the journal and finished shards for a resume.
 */
import { MANIFEST_FILE_NAME } from '../protocol/manifest';
import type { ModelStore, StoreFileWriter } from '../loader/model-store';
import { Sha256 } from '../loader/sha256';
import type { PackageSink, SinkFile, SinkFileState } from './package-sink';

export const CONVERT_JOURNAL_FILE = 'convert-journal.json';

/** An incremental hash (the store's: pure-JS SHA-256 by default; Node passes node:crypto's). */
export interface IncrementalHash {
  update(bytes: Uint8Array): unknown;
  digestHex(): string;
  /** The running state as text, for a journal (the pure-JS Sha256 has it; node:crypto's hash does not). */
  exportState?(): string;
}

export interface StoreSinkOptions {
  /** Given without `restoreHash`, a resumed shard's kept bytes are re-read and hashed again. */
  readonly newHash?: () => IncrementalHash;
  readonly restoreHash?: (state: string) => IncrementalHash;
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
  private readonly restoreHash: ((state: string) => IncrementalHash) | undefined;

  constructor(
    private readonly store: ModelStore,
    private readonly modelId: string,
    options: StoreSinkOptions = {},
  ) {
    this.location = modelId;
    this.newHash = options.newHash ?? (() => new Sha256());
    this.restoreHash = options.newHash ? options.restoreHash : (state) => Sha256.fromState(state);
  }

  async begin(): Promise<Uint8Array | null> {
    if ((await this.store.size(this.modelId, CONVERT_JOURNAL_FILE)) === 0) return null;
    return this.readWhole(CONVERT_JOURNAL_FILE);
  }

  async createFile(path: string): Promise<SinkFile> {
    this.verified.delete(path);
    return this.file(await this.store.openWriter(this.modelId, path, 0), this.newHash(), 0);
  }

  async resumeFile(path: string, state: SinkFileState): Promise<SinkFile | null> {
    this.verified.delete(path);
    if ((await this.store.size(this.modelId, path)) < state.sizeBytes) return null;
    let hash: IncrementalHash;
    if (state.hashState !== undefined && this.restoreHash) hash = this.restoreHash(state.hashState);
    else {
      hash = this.newHash();
      const got = await this.readPrefix(path, state.sizeBytes, hash);
      if (got < state.sizeBytes) return null;
    }
    return this.file(await this.store.openWriter(this.modelId, path, state.sizeBytes), hash, state.sizeBytes);
  }

  private file(writer: StoreFileWriter, hash: IncrementalHash, from: number): SinkFile {
    let sizeBytes = from;
    const flush = writer.flush;
    return {
      write: async (bytes) => {
        await writer.write(bytes);
        hash.update(bytes);
        sizeBytes += bytes.byteLength;
      },
      checkpoint: async () => {
        if (!flush) return null;
        await flush();
        const hashState = hash.exportState?.();
        return hashState === undefined ? { sizeBytes } : { sizeBytes, hashState };
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

  /** Hashes the first `length` bytes of `path`; returns how many there were. */
  private async readPrefix(path: string, length: number, hash: IncrementalHash): Promise<number> {
    const reader = (await this.store.read(this.modelId, path)).getReader();
    let got = 0;
    try {
      while (got < length) {
        const { done, value } = await reader.read();
        if (done) break;
        const take = value.subarray(0, Math.min(value.byteLength, length - got));
        hash.update(take);
        got += take.byteLength;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    return got;
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
