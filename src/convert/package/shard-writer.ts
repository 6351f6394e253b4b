/**
 * Writes weights into numbered shard files (`weights-00000.bin`, …) of at most `maxShardBytes` through a
 * PackageSink, which hashes as it goes, so each byte is written once. A weight that fits in a shard never
 * straddles two; one larger than a shard starts a fresh shard and continues at offset 0 of the next ones. Starts
 * are aligned to 16 bytes (GPU copies want 4-byte multiples).
 *
 * Resume: `startWeight` closes the shard in progress exactly when the weight's first entry would (the layout is the
 * same whether or not anyone resumes) and says so; at that point every byte written is in finished shards, which is
 * the state a journal records (`closedShards`) and `ShardWriter.resumed` continues from.
 */
import type { PackageFile, ShardRange } from '../../protocol/manifest';
import type { PackageSink, SinkFile } from '../package-sink';

const ALIGN_BYTES = 16;

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
  }

  private async openShard(): Promise<void> {
    const path = `weights-${String(this.done.length).padStart(5, '0')}.bin`;
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
