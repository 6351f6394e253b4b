/**
 * Where a Hugging Face checkpoint's bytes come from, for the converter (one implementation for the CLI and the
 * browser): a local directory, an http(s) folder, or a Hub repository at a revision. Sinks are the other half.
 */

/** Random access to one file's bytes (a safetensors shard); reads are range requests or file reads. */
export interface ByteSource {
  /** File name or URL without credentials, for error messages. */
  readonly name: string;
  readonly sizeBytes: number;
  /** Exactly `length` bytes from `offset`; a short file or response is a typed SarashinaError, never fewer bytes. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** A checkpoint's files, by their names in the Hugging Face layout (`config.json`, `model-00001-of-00004.safetensors`). */
export interface CheckpointSource {
  /** For messages and the package manifest's `source`: no credentials, no query string. */
  readonly description: string;
  /**
   * The exact revision read (a Hub commit sha), when the source has one: the cache key of a converted package and
   * the pin every later request of the same conversion uses, so a repository updated mid-download is not mixed.
   */
  readonly revision?: string;
  /** A small file's whole bytes, or null when the checkpoint has no such file. */
  readFile(name: string, signal?: AbortSignal): Promise<Uint8Array | null>;
  /** A large file for random access; a missing file is a typed 'invalid-model' error naming it. */
  openFile(name: string, signal?: AbortSignal): Promise<ByteSource>;
}
