/**
 * Where downloaded model files live. A file counts as cached only after its sha256 was verified: the data
 * is kept under its path and a `<path>.verified` marker holds the digest. Data without a marker is a partial
 * download that the next attempt resumes (after re-hashing what is there).
 */

export interface StoreWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A file written in place (StoreWriter's bytes go to `at`, `at` + …). */
export interface StoreFileWriter extends StoreWriter {
  /**
   * Makes every byte written so far durable without closing, so a journal may name them. Absent where the storage
   * commits a file only when it closes (OPFS without a sync access handle): the caller journals at closes only.
   */
  readonly flush?: () => Promise<void>;
}

export interface StoredModel {
  readonly modelId: string;
  readonly sizeBytes: number;
  readonly files: number;
}

export interface ModelStore {
  /** Bytes stored for a file (verified or partial); 0 when absent. */
  size(modelId: string, path: string): Promise<number>;
  /** The verified digest, or null when the file is absent or unverified. */
  verifiedSha256(modelId: string, path: string): Promise<string | null>;
  /** Opens the file for appending after its current end (`truncate` first empties it). */
  append(modelId: string, path: string, options: { truncate: boolean }): Promise<StoreWriter>;
  /**
   * Opens the file for writing in place from byte `at`, dropping what follows it (0: an empty file); a resumed
   * conversion continues a partly written shard this way.
   */
  openWriter(modelId: string, path: string, at: number): Promise<StoreFileWriter>;
  /** Streams the stored bytes (verified or partial). */
  read(modelId: string, path: string): Promise<ReadableStream<Uint8Array>>;
  markVerified(modelId: string, path: string, sha256: string): Promise<void>;
  /** Removes one file and its marker. */
  discard(modelId: string, path: string): Promise<void>;
  list(): Promise<StoredModel[]>;
  deleteModel(modelId: string): Promise<void>;
  /** Free bytes the store may still use, or null when unknown. */
  availableBytes(): Promise<number | null>;
}

export const VERIFIED_SUFFIX = '.verified';

/** Checks a model id or package path is a plain relative path (no '..', no absolute paths). */
export function assertSafePath(path: string): void {
  if (path === '' || path.startsWith('/') || path.split('/').some((p) => p === '..' || p === '.' || p === '') || path.includes('\\')) {
    throw new TypeError(`unsafe path in model package: ${JSON.stringify(path)}`);
  }
}
