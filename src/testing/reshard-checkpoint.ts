/**
 * Test helper: a single-file checkpoint (`model.safetensors`) rewritten as N real shards
 * (`model-0000i-of-0000N.safetensors`) plus `model.safetensors.index.json`, as transformers' `save_pretrained` lays
 * out a large model — tensors in file order, each shard a contiguous run of about total/N bytes. Every other file is
 * copied. Tensor bytes are streamed from the source, so memory stays at one chunk.
 */

import { copyFile, mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toPythonJson } from '../../export/random/python-json';
import { INDEX_FILE_NAME, SINGLE_FILE_NAME } from '../../export/safetensors/safetensors-checkpoint';
import { parseHeaderLength, parseSafetensorsHeader, type SafetensorsEntry } from '../../export/safetensors/safetensors-header';
import { writeSafetensorsFile } from '../../export/safetensors/safetensors-writer';

const CHUNK_BYTES = 1 << 20;

/** Writes `sourceDir`'s checkpoint into `destDir` as `shards` shards (2 ≤ shards ≤ tensor count). Returns the shard names. */
export async function reshardCheckpoint(sourceDir: string, destDir: string, shards: number): Promise<string[]> {
  await mkdir(destDir, { recursive: true });
  const sourcePath = join(sourceDir, SINGLE_FILE_NAME);
  const handle = await open(sourcePath, 'r');
  try {
    const size = (await handle.stat()).size;
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, 8, 0);
    const json = new Uint8Array(parseHeaderLength(prefix, sourcePath, size));
    await handle.read(json, 0, json.byteLength, 8);
    const header = parseSafetensorsHeader(json, sourcePath, size);
    const entries = [...header.entries].sort((a, b) => a.byteOffset - b.byteOffset);
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
        { metadata: header.metadata },
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
function splitEvenly(entries: readonly SafetensorsEntry[], count: number): SafetensorsEntry[][] {
  const total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  const groups: SafetensorsEntry[][] = [[]];
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

async function* readRange(handle: import('node:fs/promises').FileHandle, offset: number, length: number): AsyncIterable<Uint8Array> {
  for (let done = 0; done < length; ) {
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, length - done));
    const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, offset + done);
    if (bytesRead === 0) throw new Error(`reshardCheckpoint: source ended at ${offset + done}`);
    yield chunk.subarray(0, bytesRead);
    done += bytesRead;
  }
}
