// The re-sharded trained checkpoint read back by a reader written here from the safetensors format (8-byte LE
// header length, JSON of dtype / shape / data_offsets, data): the same tensors (names, dtypes, shapes, bytes) in 3
// shards that the index names and that split the bytes roughly evenly; the other files copied unchanged.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { reshardCheckpoint } from './reshard-checkpoint';

const TRAINED = join(import.meta.dirname, '../../export/train/checkpoint');
let dir = '';

interface Tensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Buffer;
}

/** Every tensor of one safetensors file; the data section must be exactly the tensors, back to back. */
async function readTensors(path: string): Promise<Map<string, Tensor>> {
  const file = await readFile(path);
  const length = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const data = file.subarray(8 + length);
  const tensors = new Map<string, Tensor>();
  let covered = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    tensors.set(name, { dtype: t.dtype, shape: t.shape, bytes: data.subarray(t.data_offsets[0], t.data_offsets[1]) });
    covered += t.data_offsets[1] - t.data_offsets[0];
  }
  expect(covered).toBe(data.byteLength);
  return tensors;
}

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('re-shards a one-file checkpoint into 3 shards with an index, tensor for tensor', async () => {
  dir = await mkdtemp(join(tmpdir(), 'reshard-'));
  const shards = await reshardCheckpoint(TRAINED, dir, 3);
  expect(shards).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
  const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  const original = await readTensors(join(TRAINED, 'model.safetensors'));
  const perShard = new Map<string, number>();
  const seen = new Set<string>();
  for (const shard of shards) {
    for (const [name, t] of await readTensors(join(dir, shard))) {
      const source = original.get(name);
      expect(source, name).toBeDefined();
      expect([t.dtype, t.shape]).toEqual([source?.dtype, source?.shape]);
      expect(t.bytes.equals(source?.bytes ?? Buffer.alloc(0))).toBe(true);
      expect(index.weight_map[name]).toBe(shard);
      expect(seen.has(name)).toBe(false);
      seen.add(name);
      perShard.set(shard, (perShard.get(shard) ?? 0) + t.bytes.byteLength);
    }
  }
  expect([...seen].sort()).toEqual([...original.keys()].sort());
  const total = [...original.values()].reduce((sum, t) => sum + t.bytes.byteLength, 0);
  expect(index.metadata.total_size).toBe(total);
  // No shard holds more than its third plus the largest tensor (the split is by bytes, in file order), none is empty.
  const largest = Math.max(...[...original.values()].map((t) => t.bytes.byteLength));
  for (const shard of shards) {
    expect(perShard.get(shard) ?? 0).toBeGreaterThan(0);
    expect(perShard.get(shard) ?? 0).toBeLessThanOrEqual(total / 3 + largest);
  }
  for (const file of ['config.json', 'tokenizer.json', 'chat_template.json', 'preprocessor_config.json']) {
    expect(await readFile(join(dir, file))).toEqual(await readFile(join(TRAINED, file)));
  }
});
