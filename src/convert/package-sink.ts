/**
 * Where a converted package's files go, for the converter (one implementation for the CLI and the browser): a
 * directory (Node, src/convert/node-directory-sink.ts) or a ModelStore (OPFS in the browser, the Node cache:
 * src/convert/store-sink.ts). The converter writes every file in order; a sink keeps a journal the converter gives
 * it (which may name a shard in progress, `SinkFile.checkpoint`) so that an interrupted conversion resumes, and
 * nothing looks complete before `complete()`.
 */

/** Where a partly written file stands: its length, and the running hash state when the sink's hash can export it. */
export interface SinkFileState {
  readonly sizeBytes: number;
  /** The hash's exported state (Sha256.exportState); absent: the sink re-hashes the kept bytes on resume. */
  readonly hashState?: string;
}

/** One file being written; its sha256 is computed as the bytes go through. */
export interface SinkFile {
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Makes the bytes written so far durable and returns what a journal records to resume after them; null where the
   * storage commits a file only when it closes (the journal then waits for `finish`).
   */
  checkpoint(): Promise<SinkFileState | null>;
  /** Closes (and, where the storage needs it, commits) the file: its size and sha256. */
  finish(): Promise<{ readonly sizeBytes: number; readonly sha256: string }>;
  /** Closes after a failure, best effort; the file may be left partial (it is rewritten on resume). */
  abort(): Promise<void>;
}

export interface PackageSink {
  /** Where the package goes once complete (a directory, a store id), for messages and results. */
  readonly location: string;
  /**
   * Prepares the in-progress area. Returns the journal an interrupted conversion left (its bytes as written by
   * `writeJournal`), or null to start from nothing. Typed errors: the target exists and may not be replaced.
   */
  begin(): Promise<Uint8Array | null>;
  /** Creates (or empties) `path`, a package-relative file name. */
  createFile(path: string): Promise<SinkFile>;
  /**
   * Reopens a file an interrupted conversion left partly written: cut to `state.sizeBytes` (bytes after it are
   * dropped) with the hash continuing from there. Null when the file is shorter than that (lost): start over.
   */
  resumeFile(path: string, state: SinkFileState): Promise<SinkFile | null>;
  /** Re-reads `path` as written and hashes it (verification after writing). Null when the file is absent. */
  hashFile(path: string): Promise<{ readonly sizeBytes: number; readonly sha256: string } | null>;
  /** Replaces the journal. Called only when every file it names is finished (committed). */
  writeJournal(bytes: Uint8Array): Promise<void>;
  /** Makes the package complete in one step (rename / the complete marker written last) and drops the journal. */
  complete(): Promise<void>;
  /** Deletes everything of this conversion (the in-progress area and its journal). */
  discard(): Promise<void>;
  /** Free bytes the sink may still use (disk free space, the origin's quota left), or null when unknown. */
  availableBytes(): Promise<number | null>;
}
