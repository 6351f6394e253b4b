/**
 * The Node directory sink: a package written into `<out>.partial-<pid>` (or, resumable, `<out>.partial`, where a
 * journal survives the process) and renamed to `<out>` only once complete and verified. Browser bundles never
 * import this file.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SarashinaError } from '../protocol/errors';
import type { PackageSink, SinkFile, SinkFileState } from './package-sink';
import { fileWriteError } from './package/write-error';

const JOURNAL_FILE = 'convert-journal.json';

export interface DirectorySinkOptions {
  /** Replace an existing `outDir` (only once the new package is complete). */
  readonly overwrite?: boolean;
  /** Keep the in-progress folder (`<out>.partial`) and its journal across processes, for resuming. */
  readonly resumable?: boolean;
}

export class DirectorySink implements PackageSink {
  readonly location: string;
  /** The in-progress folder. */
  readonly partial: string;

  constructor(
    private readonly outDir: string,
    private readonly options: DirectorySinkOptions = {},
  ) {
    this.location = outDir;
    this.partial = options.resumable ? `${outDir}.partial` : `${outDir}.partial-${process.pid}`;
  }

  /** Fails when `outDir` exists and may not be replaced: call it before reading a large source. */
  async checkTarget(): Promise<void> {
    if (!this.options.overwrite && (await exists(this.outDir))) {
      throw new SarashinaError('invalid-request', `${this.outDir} already exists. Remove it, choose another --out, or pass --force to replace it.`, { outDir: this.outDir });
    }
  }

  async begin(): Promise<Uint8Array | null> {
    await this.checkTarget();
    try {
      if (!this.options.resumable) await rm(this.partial, { recursive: true, force: true });
      await mkdir(this.partial, { recursive: true });
    } catch (cause) {
      throw fileWriteError(this.partial, cause);
    }
    if (!this.options.resumable) return null;
    try {
      return new Uint8Array(await readFile(join(this.partial, JOURNAL_FILE)));
    } catch {
      return null;
    }
  }

  async createFile(path: string): Promise<SinkFile> {
    return this.openAt(path, 0, createHash('sha256'));
  }

  /** node:crypto's hash cannot export its state: the kept bytes are read and hashed again (≤ one shard). */
  async resumeFile(path: string, state: SinkFileState): Promise<SinkFile | null> {
    const hash = createHash('sha256');
    let got = 0;
    if (state.sizeBytes > 0) {
      try {
        for await (const chunk of createReadStream(join(this.partial, path), { start: 0, end: state.sizeBytes - 1, highWaterMark: 4 << 20 })) {
          hash.update(chunk as Buffer);
          got += (chunk as Buffer).byteLength;
        }
      } catch {
        return null;
      }
    }
    return got < state.sizeBytes ? null : this.openAt(path, state.sizeBytes, hash);
  }

  private async openAt(path: string, at: number, hash: Hash): Promise<SinkFile> {
    const target = join(this.partial, path);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(target, at === 0 ? 'w' : 'r+');
      await handle.truncate(at);
    } catch (cause) {
      throw fileWriteError(target, cause);
    }
    let sizeBytes = at;
    return {
      async write(bytes) {
        try {
          let off = 0;
          while (off < bytes.length) off += (await handle.write(bytes, off, bytes.length - off, sizeBytes + off)).bytesWritten;
        } catch (cause) {
          throw fileWriteError(target, cause);
        }
        hash.update(bytes);
        sizeBytes += bytes.length;
      },
      // In the OS's cache once written: it survives the process (not fsync, like the journal's rename).
      checkpoint: () => Promise.resolve({ sizeBytes }),
      async finish() {
        try {
          await handle.close();
        } catch (cause) {
          throw fileWriteError(target, cause);
        }
        return { sizeBytes, sha256: hash.digest('hex') };
      },
      async abort() {
        await handle.close().catch(() => undefined);
      },
    };
  }

  async hashFile(path: string): Promise<{ sizeBytes: number; sha256: string } | null> {
    const hash = createHash('sha256');
    let sizeBytes = 0;
    try {
      for await (const chunk of createReadStream(join(this.partial, path), { highWaterMark: 4 << 20 })) {
        hash.update(chunk as Buffer);
        sizeBytes += (chunk as Buffer).byteLength;
      }
    } catch {
      return null;
    }
    return { sizeBytes, sha256: hash.digest('hex') };
  }

  async writeJournal(bytes: Uint8Array): Promise<void> {
    const target = join(this.partial, JOURNAL_FILE);
    try {
      // Written beside and renamed over: a crash mid-write leaves the previous journal, never half of one.
      await writeFile(`${target}.tmp`, bytes);
      await rename(`${target}.tmp`, target);
    } catch (cause) {
      throw fileWriteError(target, cause);
    }
  }

  async complete(): Promise<void> {
    await rm(join(this.partial, JOURNAL_FILE), { force: true });
    if (await exists(this.outDir)) await rm(this.outDir, { recursive: true, force: true });
    try {
      await mkdir(dirname(this.outDir), { recursive: true });
      await rename(this.partial, this.outDir);
    } catch (cause) {
      throw fileWriteError(this.outDir, cause);
    }
  }

  async discard(): Promise<void> {
    await rm(this.partial, { recursive: true, force: true });
  }

  async availableBytes(): Promise<number | null> {
    try {
      const s = await statfs(this.partial);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
