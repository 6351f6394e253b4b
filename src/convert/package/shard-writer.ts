/**
 * Writes weights into numbered shard files (`weights-00000.bin`, …) of at most `maxShardBytes` through a
 * PackageSink, which hashes as it goes, so each byte is written once. A weight that fits in a shard never
 * straddles two; one larger than a shard starts a fresh shard and continues at offset 0 of the next ones. Starts
 * are aligned to 16 bytes (GPU copies want 4-byte multiples).
 *
 * Resume: between weights, the state a journal records is the finished shards (`closedShards`) and, where the sink
 * can make a partly written file durable (`checkpoint`), the shard in progress with its length and hash state; a
 * resumed writer (`resumeOpen`) continues that shard at that length. `startWeight` closes the shard in progress
 * exactly when the weight's first entry would (the layout is the same whether or not anyone resumes).
 */
import type { PackageFile, ShardRange } from '../../protocol/manifest';
import type { PackageSink, SinkFile, SinkFileState } from '../package-sink';

const ALIGN_BYTES = 16;

/** The `index`th shard's file name. */
export function shardFileName(index: number): string {
  return `weights-${String(index).padStart(5, '0')}.bin`;
}

interface OpenShard {
  readonly path: string;
  readonly file: SinkFile;
  sizeBytes: number;
}

export class ShardWriter {
  private current: OpenShard | null = null;
  private readonly done: PackageFile[];
  private parts: ShardRange[] = [];
  /** The weight being written, for error messages. */
  tensor = '';
  /** Bytes written through this writer (padding included; not those of shards it resumed). */
  writtenBytes = 0;

  constructor(
    private readonly sink: PackageSink,
    private readonly maxShardBytes: number,
    closed: readonly PackageFile[] = [],
  ) {
    if (!(maxShardBytes >= ALIGN_BYTES)) throw new RangeError(`maxShardBytes must be ≥ ${ALIGN_BYTES}, got ${maxShardBytes}`);
    this.done = [...closed];
  }

  /** Every shard finished so far (path, size, sha256). */
  get closedShards(): readonly PackageFile[] {
    return this.done;
  }

  /** True when no shard is open: everything written is in `closedShards`. */
  get idle(): boolean {
    return this.current === null;
  }

  /** Continues `path`, the shard an interrupted conversion left open at `sizeBytes` (reopened by the sink). */
  resumeOpen(path: string, file: SinkFile, sizeBytes: number): void {
    if (this.current) throw new Error('ShardWriter.resumeOpen with a shard open');
    this.current = { path, file, sizeBytes };
  }

  /**
   * Between weights: makes the shard in progress durable and returns its state for a journal; `open: null` when no
   * shard is open. Null when the sink cannot make a partly written file durable (journal at closes only).
   */
  async checkpoint(): Promise<{ readonly open: { readonly path: string; readonly state: SinkFileState } | null } | null> {
    const cur = this.current;
    if (!cur) return { open: null };
    const state = await cur.file.checkpoint();
    if (!state) return null;
    if (state.sizeBytes !== cur.sizeBytes) throw new Error(`ShardWriter: ${cur.path} holds ${state.sizeBytes} bytes, ${cur.sizeBytes} written`);
    return { open: { path: cur.path, state } };
  }

  /**
   * Called before a planned weight whose first entry is `firstEntryBytes`: closes the open shard when that entry
   * does not fit in it (what `begin` would do). Returns true when no shard is left open (a journal point).
   */
  async startWeight(firstEntryBytes: number): Promise<boolean> {
    const cur = this.current;
    if (cur && !this.fitsCurrent(cur, firstEntryBytes)) await this.closeShard();
    return this.current === null;
  }

  /** Starts a weight of `sizeBytes`; its bytes follow through `write`, then `end` returns its ranges. */
  async begin(tensor: string, sizeBytes: number): Promise<void> {
    this.tensor = tensor;
    this.parts = [];
    const cur = this.current;
    if (cur) {
      const aligned = Math.ceil(cur.sizeBytes / ALIGN_BYTES) * ALIGN_BYTES;
      if (!this.fitsCurrent(cur, sizeBytes)) await this.closeShard();
      else if (aligned > cur.sizeBytes) await this.raw(new Uint8Array(aligned - cur.sizeBytes));
    }
  }

  /** Appends bytes of the current weight, spilling into new shards at the size limit. */
  async write(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    while (rest.length > 0) {
      if (!this.current || this.current.sizeBytes >= this.maxShardBytes) {
        await this.closeShard();
        await this.openShard();
      }
      const cur = this.current as OpenShard;
      const n = Math.min(rest.length, this.maxShardBytes - cur.sizeBytes);
      const last = this.parts[this.parts.length - 1];
      if (last && last.shard === cur.path) this.parts[this.parts.length - 1] = { ...last, sizeBytes: last.sizeBytes + n };
      else this.parts.push({ shard: cur.path, byteOffset: cur.sizeBytes, sizeBytes: n });
      await this.raw(rest.subarray(0, n));
      rest = rest.subarray(n);
    }
  }

  end(): ShardRange[] {
    return this.parts;
  }

  /** Closes the last shard; returns every shard with size and sha256. */
  async finish(): Promise<PackageFile[]> {
    await this.closeShard();
    return this.done;
  }

  /** Closes files after a failure (best effort). */
  async abort(): Promise<void> {
    await this.current?.file.abort().catch(() => undefined);
    this.current = null;
  }

  private fitsCurrent(cur: OpenShard, sizeBytes: number): boolean {
    const aligned = Math.ceil(cur.sizeBytes / ALIGN_BYTES) * ALIGN_BYTES;
    return aligned + sizeBytes <= this.maxShardBytes && aligned < this.maxShardBytes;
  }

  private async raw(bytes: Uint8Array): Promise<void> {
    const cur = this.current as OpenShard;
    await cur.file.write(bytes);
    cur.sizeBytes += bytes.length;
    this.writtenBytes += bytes.length;
  }

  private async openShard(): Promise<void> {
    const path = shardFileName(this.done.length);
    this.current = { path, file: await this.sink.createFile(path), sizeBytes: 0 };
  }

  private async closeShard(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.current = null;
    const { sizeBytes, sha256 } = await cur.file.finish();
    this.done.push({ path: cur.path, sizeBytes, sha256 });
  }
}
