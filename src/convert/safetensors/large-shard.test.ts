// A ≈10 GB shard like the real 8B's (offsets past 2^32, element counts past 2^32), as a sparse file so no
// 10 GB is written: only the header and the few bytes read are real. Local and over HTTP range requests.
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSarashinaError } from '../../protocol/errors';
import { type RangeFileServer, startRangeFileServer } from '../../testing/range-file-server';
import { SafetensorsCheckpoint } from './safetensors-checkpoint';
import { openCheckpointLocation } from '../node-checkpoint-source';

const FILLER_ELEMENTS = 5_100_000_000; // BF16: 10.2 GB, more elements than 2^32
const TAIL = new Float32Array([1.5, -2, 3.25, 1e-3, 65504, -0]);

let dir: string;
let server: RangeFileServer;

/** Writes header + head tensor, extends the file sparsely, then writes the tail tensor at its > 2^32 offset. */
async function sparseShard(root: string, options: { fileSizeDelta?: number } = {}): Promise<{ tailOffset: number; sizeBytes: number }> {
  await mkdir(root, { recursive: true });
  const head = new Float32Array([7, 8]);
  const header = {
    __metadata__: { format: 'pt' },
    head: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    filler: { dtype: 'BF16', shape: [FILLER_ELEMENTS / 2, 2], data_offsets: [8, 8 + FILLER_ELEMENTS * 2] },
    tail: { dtype: 'F32', shape: [2, 3], data_offsets: [8 + FILLER_ELEMENTS * 2, 8 + FILLER_ELEMENTS * 2 + TAIL.byteLength] },
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // safetensors pads the header with spaces
  const dataStart = 8 + json.length;
  const tailOffset = dataStart + 8 + FILLER_ELEMENTS * 2;
  const sizeBytes = tailOffset + TAIL.byteLength + (options.fileSizeDelta ?? 0);
  const prefix = new Uint8Array(dataStart + 8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  prefix.set(new TextEncoder().encode(json), 8);
  prefix.set(new Uint8Array(head.buffer), dataStart);
  const file = join(root, 'model.safetensors');
  await writeFile(file, prefix);
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(sizeBytes);
    const tailBytes = new Uint8Array(TAIL.buffer).subarray(0, Math.max(0, Math.min(TAIL.byteLength, sizeBytes - tailOffset)));
    await handle.write(tailBytes, 0, tailBytes.byteLength, tailOffset);
  } finally {
    await handle.close();
  }
  return { tailOffset, sizeBytes };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'large-shard-'));
  server = await startRangeFileServer(dir, 'ckpt');
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a 10 GB safetensors shard', () => {
  it('is read locally and over HTTP ranges: offsets and element counts past 2^32', async () => {
    const { tailOffset, sizeBytes } = await sparseShard(join(dir, 'big'));
    expect(sizeBytes).toBeGreaterThan(10e9);
    expect(tailOffset).toBeGreaterThan(2 ** 32);
    for (const root of [join(dir, 'big'), `${server.url}big`]) {
      server.resetCount();
      const ckpt = await SafetensorsCheckpoint.open(openCheckpointLocation(root));
      expect(ckpt.info('filler')).toMatchObject({ dtype: 'BF16', shape: [FILLER_ELEMENTS / 2, 2], sizeBytes: FILLER_ELEMENTS * 2 });
      expect(ckpt.info('tail').byteOffset, root).toBe(tailOffset);
      expect((await ckpt.readFloat32('tail')).data, root).toEqual(TAIL);
      expect((await ckpt.readFloat32('head')).data, root).toEqual(new Float32Array([7, 8]));
      if (root.startsWith('http')) expect(server.rangeRequests).toBeGreaterThanOrEqual(4);
    }
  });

  it('a 10 GB shard one byte short or one byte long is refused at open, naming the file', async () => {
    for (const [name, delta, what] of [['short', -1, 'truncated'], ['long', 1, 'trailing bytes']] as const) {
      await sparseShard(join(dir, name), { fileSizeDelta: delta });
      for (const root of [join(dir, name), `${server.url}${name}`]) {
        const error = await SafetensorsCheckpoint.open(openCheckpointLocation(root)).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isSarashinaError(error, 'invalid-model'), `${root}: ${String(error)}`).toBe(true);
        expect((error as Error).message).toContain(what);
        expect((error as Error).message).toContain('model.safetensors');
      }
    }
  });

  it('a header longer than the safetensors limit (100,000,000 bytes) is refused before it is read', async () => {
    const root = join(dir, 'long-header');
    await mkdir(root, { recursive: true });
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, 100_000_001n, true);
    const file = join(root, 'model.safetensors');
    await writeFile(file, prefix);
    const handle = await open(file, 'r+');
    await handle.truncate(200_000_000).finally(() => handle.close());
    const error = await SafetensorsCheckpoint.open(openCheckpointLocation(root)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isSarashinaError(error, 'invalid-model'), String(error)).toBe(true);
    expect((error as Error).message).toContain('header length 100000001 is not between 2 and 100000000 bytes');
  });
});
