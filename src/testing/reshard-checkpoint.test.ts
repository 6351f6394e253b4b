// The re-sharded trained checkpoint, read back by the exporter's safetensors reader: the same tensors (names, dtypes,
// shapes, bytes), in 3 shards that the index names and that split the bytes roughly evenly.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { SafetensorsCheckpoint } from '../../export/safetensors/safetensors-checkpoint';
import { reshardCheckpoint } from './reshard-checkpoint';

const TRAINED = join(import.meta.dirname, '../../export/train/checkpoint');
let dir = '';

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('re-shards a one-file checkpoint into 3 shards with an index, tensor for tensor', async () => {
  dir = await mkdtemp(join(tmpdir(), 'reshard-'));
  const shards = await reshardCheckpoint(TRAINED, dir, 3);
  expect(shards).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
  const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  const original = await SafetensorsCheckpoint.open(TRAINED);
  const resharded = await SafetensorsCheckpoint.open(dir);
  expect([...resharded.tensors.keys()].sort()).toEqual([...original.tensors.keys()].sort());
  let total = 0;
  const perShard = new Map<string, number>();
  for (const [name, info] of original.tensors) {
    const a = await original.read(name);
    const b = await resharded.read(name);
    expect([b.dtype, b.shape]).toEqual([a.dtype, a.shape]);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    const file = resharded.info(name).file;
    expect(index.weight_map[name]).toBe(file);
    perShard.set(file, (perShard.get(file) ?? 0) + info.sizeBytes);
    total += info.sizeBytes;
  }
  expect(index.metadata.total_size).toBe(total);
  expect([...perShard.keys()].sort()).toEqual(shards);
  // No shard holds more than its third plus the largest tensor (the split is by bytes, in file order).
  const largest = Math.max(...[...original.tensors.values()].map((t) => t.sizeBytes));
  for (const bytes of perShard.values()) expect(bytes).toBeLessThanOrEqual(total / 3 + largest);
  for (const file of ['config.json', 'tokenizer.json', 'chat_template.json', 'preprocessor_config.json']) {
    expect(await readFile(join(dir, file))).toEqual(await readFile(join(TRAINED, file)));
  }
});
