import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSarashinaError } from '../../protocol/errors';
import { randomFloats } from '../../testing/compare';
import { type RangeFileServer, startRangeFileServer } from '../../testing/range-file-server';
import { SafetensorsCheckpoint } from './safetensors-checkpoint';
import { bf16ToFloat32, f16ToFloat32, float32ToBf16Bytes } from './safetensors-dtype';
import { writeSafetensorsFile, type TensorToWrite } from '../../../export/safetensors/safetensors-writer';
import { openCheckpointLocation } from '../node-checkpoint-source';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'safetensors-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function f32Tensor(name: string, shape: number[], values: Float32Array, chunkElements = 7): TensorToWrite {
  return {
    name,
    dtype: 'F32',
    shape,
    *chunks() {
      for (let i = 0; i < values.length; i += chunkElements) yield new Uint8Array(values.slice(i, i + chunkElements).buffer);
    },
  };
}

function bf16Tensor(name: string, shape: number[], values: Float32Array): TensorToWrite {
  return {
    name,
    dtype: 'BF16',
    shape,
    *chunks() {
      const out = new Uint8Array(values.length * 2);
      float32ToBf16Bytes(values, out);
      yield out;
    },
  };
}

async function expectInvalid(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isSarashinaError(error, 'invalid-model'), String(error)).toBe(true);
  for (const f of fragments) expect((error as Error).message).toContain(f);
}

/** A file whose header is `header` (raw JSON) followed by `dataBytes` zero bytes. */
async function rawFile(name: string, header: unknown, dataBytes: number, lengthOverride?: number): Promise<string> {
  const root = join(dir, name);
  await rm(root, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(root));
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(lengthOverride ?? json.byteLength), true);
  bytes.set(json, 8);
  await writeFile(join(root, 'model.safetensors'), bytes);
  return root;
}

describe('dtype conversion', () => {
  it('bf16 → f32 is exact and f32 → bf16 rounds to nearest even', () => {
    const values = new Float32Array([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 65504, -0, Infinity]);
    const bytes = new Uint8Array(values.length * 2);
    float32ToBf16Bytes(values, bytes);
    const back = bf16ToFloat32(bytes);
    // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa is 1. 1 + 3·2^-8 ties up to 1 + 2^-6.
    expect(Array.from(back)).toEqual([1, -2.5, 1, 1 + 2 ** -6, 65536, -0, Infinity]);
    expect(Number.isNaN(bf16ToFloat32(new Uint8Array([0xc0, 0x7f]))[0])).toBe(true);
    // Round trip of values that are already bf16 is the identity.
    const again = new Uint8Array(bytes.length);
    float32ToBf16Bytes(back, again);
    expect(again).toEqual(bytes);
    // An odd byte offset takes the byte-wise path and gives the same values.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(bf16ToFloat32(shifted.subarray(1))).toEqual(back);
  });

  it('f16 → f32 covers normals, subnormals and infinities', () => {
    const halves = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00, 0x3555]);
    const out = f16ToFloat32(new Uint8Array(halves.buffer));
    expect(Array.from(out)).toEqual([1, -2, 2 ** -24, 65504, -Infinity, Math.fround(0.333251953125)]);
  });
});

describe('SafetensorsCheckpoint', () => {
  it('round-trips a single file written by the streaming writer', async () => {
    const root = join(dir, 'single');
    await import('node:fs/promises').then((fs) => fs.mkdir(root));
    const a = randomFloats(3 * 5, 1);
    const b = randomFloats(4, 2);
    const size = await writeSafetensorsFile(join(root, 'model.safetensors'), [f32Tensor('a.weight', [3, 5], a), bf16Tensor('b', [2, 2], b)]);
    expect(size).toBe((await readFile(join(root, 'model.safetensors'))).byteLength);
    const ckpt = await SafetensorsCheckpoint.open(openCheckpointLocation(root));
    expect([...ckpt.tensors.keys()]).toEqual(['a.weight', 'b']);
    expect(ckpt.info('a.weight').shape).toEqual([3, 5]);
    expect((ckpt.info('a.weight').byteOffset - 8) % 8).toBe(0);
    expect((await ckpt.readFloat32('a.weight')).data).toEqual(a);
    const bBytes = new Uint8Array(8);
    float32ToBf16Bytes(b, bBytes);
    const read = await ckpt.read('b');
    expect(read.dtype).toBe('BF16');
    expect(read.bytes).toEqual(bBytes);
    await expectInvalid(ckpt.read('missing'), 'missing');
  });

  it('opens a sharded checkpoint through its index and rejects index/shard disagreements', async () => {
    const root = join(dir, 'sharded');
    await import('node:fs/promises').then((fs) => fs.mkdir(root));
    const x = randomFloats(6, 3);
    const y = randomFloats(10, 4);
    await writeSafetensorsFile(join(root, 'model-00001-of-00002.safetensors'), [f32Tensor('x', [6], x)]);
    await writeSafetensorsFile(join(root, 'model-00002-of-00002.safetensors'), [f32Tensor('y', [2, 5], y)]);
    const index = { metadata: { total_size: 64 }, weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } };
    await writeFile(join(root, 'model.safetensors.index.json'), JSON.stringify(index));
    const ckpt = await SafetensorsCheckpoint.open(openCheckpointLocation(root));
    expect(ckpt.info('y').file).toBe('model-00002-of-00002.safetensors');
    expect((await ckpt.readFloat32('y')).data).toEqual(y);
    expect((await ckpt.readFloat32('x')).data).toEqual(x);

    await writeFile(join(root, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...index.weight_map, z: 'model-00002-of-00002.safetensors' } }));
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(root)), 'z', 'model-00002-of-00002.safetensors');
    await writeFile(join(root, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00003-of-00003.safetensors' } }));
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(root)), 'model-00003-of-00003.safetensors');
  });

  it('rejects truncated files and lying headers, naming the file and tensor', async () => {
    const root = join(dir, 'trunc');
    await import('node:fs/promises').then((fs) => fs.mkdir(root));
    const file = join(root, 'model.safetensors');
    await writeSafetensorsFile(file, [f32Tensor('w', [4, 4], randomFloats(16, 5))]);
    await truncate(file, (await readFile(file)).byteLength - 3);
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(root)), file, 'truncated');
    await truncate(file, 5);
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(root)), 'shorter than the 8-byte');

    const t = (dtype: string, shape: number[], offsets: number[]): unknown => ({ dtype, shape, data_offsets: offsets });
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('shape-lie', { w: t('F32', [2, 3], [0, 20]) }, 20))), 'tensor w', 'needs 24 bytes');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('gap', { a: t('F32', [1], [0, 4]), b: t('F32', [1], [8, 12]) }, 12))), 'tensor b', 'contiguous');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('overlap', { a: t('F32', [2], [0, 8]), b: t('F32', [1], [4, 8]) }, 8))), 'contiguous');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('past-end', { a: t('F32', [4], [0, 16]) }, 8))), 'truncated');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('trailing', { a: t('F32', [1], [0, 4]) }, 9))), 'trailing bytes');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('dtype', { a: t('I64', [1], [0, 8]) }, 8))), 'tensor a', 'I64');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('neg-shape', { a: t('F32', [-1], [0, 4]) }, 4))), 'shape');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('huge-len', { a: t('F32', [1], [0, 4]) }, 4, 2 ** 40))), 'header length');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(await rawFile('long-len', { a: t('F32', [1], [0, 4]) }, 4, 1000))), 'past the end');
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(join(dir, 'no-such-dir'))), 'no-such-dir');
  });

  it('writer refuses a producer that gives the wrong number of bytes and leaves no file', async () => {
    const file = join(dir, 'bad-producer.safetensors');
    const bad: TensorToWrite = { name: 'w', dtype: 'F32', shape: [3], *chunks() { yield new Uint8Array(8); } };
    await expect(writeSafetensorsFile(file, [bad])).rejects.toThrow(/8, not the 12 bytes/);
    await expect(readFile(file)).rejects.toThrow();
    await expect(readFile(`${file}.partial`)).rejects.toThrow();
  });
});

describe('SafetensorsCheckpoint over http', () => {
  let server: RangeFileServer;
  let base: string;

  beforeAll(async () => {
    const root = join(dir, 'http');
    await import('node:fs/promises').then((fs) => fs.mkdir(root));
    await writeSafetensorsFile(join(root, 'model-1.safetensors'), [f32Tensor('p', [3, 3], randomFloats(9, 6))]);
    await writeSafetensorsFile(join(root, 'model-2.safetensors'), [bf16Tensor('q', [5], randomFloats(5, 7))]);
    await writeFile(join(root, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { p: 'model-1.safetensors', q: 'model-2.safetensors' } }));
    server = await startRangeFileServer(root, 'ckpt');
    base = server.url.replace(/\/$/, '');
  });
  afterAll(() => server.close());

  it('reads tensors with range requests (206) and from servers that ignore ranges (200)', async () => {
    const local = await SafetensorsCheckpoint.open(openCheckpointLocation(join(dir, 'http')));
    for (const honour of [true, false]) {
      server.honourRanges = honour;
      server.resetCount();
      const remote = await SafetensorsCheckpoint.open(openCheckpointLocation(`${base}/`));
      expect(remote.info('q')).toEqual(local.info('q'));
      expect((await remote.readFloat32('p')).data).toEqual((await local.readFloat32('p')).data);
      expect((await remote.read('q')).bytes).toEqual((await local.read('q')).bytes);
      expect(server.rangeRequests > 0).toBe(honour);
    }
    await expectInvalid(SafetensorsCheckpoint.open(openCheckpointLocation(`${base}/missing`)), 'missing');
  });
});
