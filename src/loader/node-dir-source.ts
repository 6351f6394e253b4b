/** A model package in a local directory (Node: CLI, tests, benchmarks). */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { SarashinaError } from '../protocol/errors';
import { assertSafePath } from './model-store';
import type { PackageSource } from './package-source';

export class NodeDirSource implements PackageSource {
  readonly id: string;

  constructor(private readonly dir: string) {
    this.id = resolve(dir);
  }

  async readBytes(path: string): Promise<Uint8Array> {
    assertSafePath(path);
    try {
      return new Uint8Array(await readFile(join(this.dir, path)));
    } catch (cause) {
      throw new SarashinaError('invalid-model', `Cannot read ${join(this.dir, path)}: ${String(cause)}. Is --model the folder holding manifest.json?`, { path }, { cause });
    }
  }

  async stream(path: string): Promise<ReadableStream<Uint8Array>> {
    assertSafePath(path);
    return Readable.toWeb(createReadStream(join(this.dir, path), { highWaterMark: 4 << 20 })) as ReadableStream<Uint8Array>;
  }
}
