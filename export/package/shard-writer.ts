/**
 * Writes weights into numbered shard files (`weights-00000.bin`, …) of at most `maxShardBytes`,
 * hashing as it goes, so each byte is written once and never read back. A weight that fits in a
 * shard never straddles two; one larger than a shard starts a fresh shard and continues at offset 0
 * of the next ones. Starts are aligned to 16 bytes (GPU copies want 4-byte multiples).
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackageFile, ShardRange } from '../../src/protocol/manifest';
import { fileWriteError } from './write-error';

const ALIGN_BYTES = 16;

interface OpenShard {
  readonly path: string;
  readonly handle: FileHandle;
  readonly hash: Hash;
  sizeBytes: number;
}

export class ShardWriter {
  private current: OpenShard | null = null;
  private readonly done: PackageFile[] = [];
  private parts: ShardRange[] = [];
  private tensor = '';

  constructor(
    private readonly dir: string,
    private readonly maxShardBytes: number,
  ) {
    if (!(maxShardBytes >= ALIGN_BYTES)) throw new RangeError(`maxShardBytes must be ≥ ${ALIGN_BYTES}, got ${maxShardBytes}`);
  }

  /** Starts a weight of `sizeBytes`; its bytes follow through `write`, then `end` returns its ranges. */
  async begin(tensor: string, sizeBytes: number): Promise<void> {
    this.tensor = tensor;
    this.parts = [];
    const cur = this.current;
    if (cur) {
      const aligned = Math.ceil(cur.sizeBytes / ALIGN_BYTES) * ALIGN_BYTES;
      const fits = aligned + sizeBytes <= this.maxShardBytes;
      if (!fits || aligned >= this.maxShardBytes) await this.closeShard();
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
    await this.current?.handle.close().catch(() => undefined);
    this.current = null;
  }

  private async raw(bytes: Uint8Array): Promise<void> {
    const cur = this.current as OpenShard;
    try {
      let off = 0;
      while (off < bytes.length) off += (await cur.handle.write(bytes, off, bytes.length - off, cur.sizeBytes + off)).bytesWritten;
    } catch (cause) {
      throw fileWriteError(join(this.dir, cur.path), cause, this.tensor);
    }
    cur.hash.update(bytes);
    cur.sizeBytes += bytes.length;
  }

  private async openShard(): Promise<void> {
    const path = `weights-${String(this.done.length).padStart(5, '0')}.bin`;
    try {
      this.current = { path, handle: await open(join(this.dir, path), 'wx'), hash: createHash('sha256'), sizeBytes: 0 };
    } catch (cause) {
      throw fileWriteError(join(this.dir, path), cause, this.tensor);
    }
  }

  private async closeShard(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.current = null;
    try {
      await cur.handle.close();
    } catch (cause) {
      throw fileWriteError(join(this.dir, cur.path), cause, this.tensor);
    }
    this.done.push({ path: cur.path, sizeBytes: cur.sizeBytes, sha256: cur.hash.digest('hex') });
  }
}
