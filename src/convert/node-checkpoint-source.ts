/**
 * Node-only checkpoint sources: a local directory in the Hugging Face layout, and `openCheckpointLocation` for a
 * path or an http(s) folder (the CLI's argument). Browser bundles never import this file.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SarashinaError } from '../protocol/errors';
import type { ByteSource, CheckpointSource } from './checkpoint-source';
import { type HttpSourceOptions, isUrl, openHttpFolderCheckpoint } from './http-folder-source';

/** The checkpoint at `location`: an http(s) folder URL or a local directory. */
export function openCheckpointLocation(location: string, options: HttpSourceOptions = {}): CheckpointSource {
  return isUrl(location) ? openHttpFolderCheckpoint(location, options) : openDirectoryCheckpoint(location);
}

/** The checkpoint in directory `dir`. */
export function openDirectoryCheckpoint(dir: string): CheckpointSource {
  return {
    description: dir,
    async readFile(name) {
      const path = join(dir, name);
      try {
        return new Uint8Array(await readFile(path));
      } catch (cause) {
        if ((cause as { code?: string }).code === 'ENOENT') return null;
        throw new SarashinaError('invalid-model', `Could not read ${path} (${String(cause)}).`, { file: path }, { cause });
      }
    },
    openFile: async (name) => openFileSource(join(dir, name)),
  };
}

/** Opens a local file for random access. A missing file is 'invalid-model' naming the path. */
export async function openFileSource(path: string): Promise<ByteSource> {
  let sizeBytes: number;
  try {
    const handle = await open(path, 'r');
    try {
      sizeBytes = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw new SarashinaError('invalid-model', `Cannot open checkpoint file ${path}: ${String(e)}. Check that the file exists and is readable.`, { file: path }, { cause: e });
  }
  return {
    name: path,
    sizeBytes,
    async read(offset, length) {
      const out = new Uint8Array(length);
      const handle = await open(path, 'r');
      try {
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        if (done !== length) {
          throw new SarashinaError(
            'invalid-model',
            `${path}: wanted ${length} bytes at offset ${offset} but the file ended after ${done}. The file is truncated; download it again.`,
            { file: path, offset, length, sizeBytes },
          );
        }
      } finally {
        await handle.close();
      }
      return out;
    },
  };
}
