/**
 * Test helper: a single-file checkpoint (`model.safetensors`) rewritten as N real shards
 * (`model-0000i-of-0000N.safetensors`) plus `model.safetensors.index.json`, as transformers' `save_pretrained` lays
 * out a large model — tensors in file order, each shard a contiguous run of about total/N bytes. Every other file is
 * copied. Tensor bytes are streamed from the source, so memory stays at one chunk.
 */

import { copyFile, type FileHandle, mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toPythonJson } from '../../export/random/python-json';
import { type TensorToWrite, writeSafetensorsFile } from '../../export/safetensors/safetensors-writer';

const CHUNK_BYTES = 1 << 20;
/** The file names transformers' save_pretrained writes. */
const SINGLE_FILE_NAME = 'model.safetensors';
const INDEX_FILE_NAME = 'model.safetensors.index.json';

interface SourceTensor {
  readonly name: string;
  readonly dtype: TensorToWrite['dtype'];
  readonly shape: readonly number[];
  /** From the start of the file. */
  readonly byteOffset: number;
  readonly sizeBytes: number;
}

/** Writes `sourceDir`'s checkpoint into `destDir` as `shards` shards (2 ≤ shards ≤ tensor count). Returns the shard names. */
export async function reshardCheckpoint(sourceDir: string, destDir: string, shards: number): Promise<string[]> {
  await mkdir(destDir, { recursive: true });
  const sourcePath = join(sourceDir, SINGLE_FILE_NAME);
  const handle = await open(sourcePath, 'r');
  try {
    const { entries, metadata } = await readHeader(handle);
    if (!Number.isInteger(shards) || shards < 2 || shards > entries.length) throw new Error(`reshardCheckpoint: ${shards} shards for ${entries.length} tensors`);
    const groups = splitEvenly(entries, shards);
    const names = groups.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`);
    const weightMap: Record<string, string> = {};
    for (const [i, group] of groups.entries()) {
      const name = names[i] ?? '';
      for (const e of group) weightMap[e.name] = name;
      await writeSafetensorsFile(
        join(destDir, name),
        group.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, chunks: () => readRange(handle, e.byteOffset, e.sizeBytes) })),
        { metadata },
      );
    }
    const totalSize = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
    await writeFile(join(destDir, INDEX_FILE_NAME), toPythonJson({ metadata: { total_size: totalSize }, weight_map: weightMap }));
    for (const entry of await readdir(sourceDir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name !== SINGLE_FILE_NAME && entry.name !== INDEX_FILE_NAME) await copyFile(join(sourceDir, entry.name), join(destDir, entry.name));
    }
    return names;
  } finally {
    await handle.close();
  }
}

/** Contiguous groups, each closing once the running total passes its share of the bytes; none empty. */
function splitEvenly(entries: readonly SourceTensor[], count: number): SourceTensor[][] {
  const total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  const groups: SourceTensor[][] = [[]];
  let running = 0;
  for (const [i, e] of entries.entries()) {
    const current = groups[groups.length - 1] ?? [];
    const left = entries.length - i;
    const groupsToOpen = count - groups.length;
    if (current.length > 0 && groupsToOpen > 0 && (running >= (total * groups.length) / count || left <= groupsToOpen)) groups.push([e]);
    else current.push(e);
    running += e.sizeBytes;
  }
  return groups;
}

async function* readRange(handle: FileHandle, offset: number, length: number): AsyncIterable<Uint8Array> {
  for (let done = 0; done < length; ) {
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, length - done));
    const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, offset + done);
    if (bytesRead === 0) throw new Error(`reshardCheckpoint: source ended at ${offset + done}`);
    yield chunk.subarray(0, bytesRead);
    done += bytesRead;
  }
}

/** The source's tensors in file order (the file is a fixture of ours: its header is trusted, not validated here). */
async function readHeader(handle: FileHandle): Promise<{ entries: SourceTensor[]; metadata: Record<string, string> }> {
  const prefix = Buffer.alloc(8);
  await handle.read(prefix, 0, 8, 0);
  const length = Number(prefix.readBigUInt64LE(0));
  const json = Buffer.alloc(length);
  await handle.read(json, 0, length, 8);
  type Entry = { dtype: TensorToWrite['dtype']; shape: number[]; data_offsets: [number, number] };
  const { __metadata__: metadata, ...tensors } = JSON.parse(json.toString('utf8')) as { __metadata__?: Record<string, string> } & Record<string, Entry>;
  const entries = Object.entries(tensors).map(([name, t]) => ({
    name,
    dtype: t.dtype,
    shape: t.shape,
    byteOffset: 8 + length + t.data_offsets[0],
    sizeBytes: t.data_offsets[1] - t.data_offsets[0],
  }));
  return { entries: entries.sort((a, b) => a.byteOffset - b.byteOffset), metadata: metadata ?? {} };
}
