/**
 * A Hugging Face safetensors checkpoint — one `model.safetensors` or shards listed by
 * `model.safetensors.index.json` — in a local directory or under an http(s) base URL. Only the
 * headers are read at open; each `read` fetches one tensor, so memory is bounded by the largest
 * tensor, not the model.
 */

import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { SarashinaError } from '../../src/protocol/errors';
import { isUrl, openFileSource, openUrlSource, type ByteSource } from './byte-source';
import { toFloat32, type SafetensorsDtype } from './safetensors-dtype';
import { parseHeaderLength, parseSafetensorsHeader } from './safetensors-header';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

export interface TensorInfo {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Shard file name relative to the checkpoint root. */
  readonly file: string;
  /** Offset of the tensor's bytes from the start of `file`. */
  readonly byteOffset: number;
  readonly sizeBytes: number;
}

export interface TensorData {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Little-endian element bytes, exactly `sizeBytes` long. */
  readonly bytes: Uint8Array;
}

export interface OpenCheckpointOptions {
  /** Replaces global fetch for URL sources (tests, auth headers). */
  readonly fetchImpl?: typeof fetch;
}

export class SafetensorsCheckpoint {
  /** Tensor name → where it lives, in the order the files list them. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  private readonly sources: ReadonlyMap<string, ByteSource>;

  private constructor(tensors: Map<string, TensorInfo>, sources: Map<string, ByteSource>) {
    this.tensors = tensors;
    this.sources = sources;
  }

  /**
   * Opens `root` (a directory path or an http(s) base URL). Uses the index when present, else
   * the single file. Validates every header and that the index and the shards agree: a tensor
   * the index names but its shard lacks, or a duplicated tensor, is 'invalid-model'.
   */
  static async open(root: string, options: OpenCheckpointOptions = {}): Promise<SafetensorsCheckpoint> {
    const remote = isUrl(root);
    const locate = (file: string): string => (remote ? `${root.replace(/\/+$/, '')}/${file}` : join(root, file));
    const openSource = (file: string): Promise<ByteSource> =>
      remote ? openUrlSource(locate(file), { fetchImpl: options.fetchImpl }) : openFileSource(locate(file));

    const indexText = await readOptionalText(locate(INDEX_FILE_NAME), remote, options.fetchImpl);
    let weightMap: Map<string, string> | null = null;
    let files: string[];
    if (indexText !== null) {
      weightMap = parseIndex(indexText, locate(INDEX_FILE_NAME));
      files = [...new Set(weightMap.values())];
    } else {
      files = [SINGLE_FILE_NAME];
    }

    const tensors = new Map<string, TensorInfo>();
    const sources = new Map<string, ByteSource>();
    for (const file of files) {
      const source = await openSource(file);
      sources.set(file, source);
      const headerLength = parseHeaderLength(await source.read(0, Math.min(8, source.sizeBytes)), source.name, source.sizeBytes);
      const header = parseSafetensorsHeader(await source.read(8, headerLength), source.name, source.sizeBytes);
      for (const entry of header.entries) {
        if (tensors.has(entry.name)) {
          throw new SarashinaError('invalid-model', `Tensor ${entry.name} appears in both ${tensors.get(entry.name)?.file} and ${file}. The checkpoint is inconsistent; download it again.`, { tensor: entry.name, file });
        }
        if (weightMap && weightMap.get(entry.name) !== file) {
          throw new SarashinaError('invalid-model', `Tensor ${entry.name} is in ${file} but ${INDEX_FILE_NAME} puts it in ${weightMap.get(entry.name) ?? 'no file'}. The checkpoint is inconsistent; download it again.`, { tensor: entry.name, file });
        }
        tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, file, byteOffset: entry.byteOffset, sizeBytes: entry.sizeBytes });
      }
    }
    if (weightMap) {
      for (const [name, file] of weightMap) {
        if (!tensors.has(name)) {
          throw new SarashinaError('invalid-model', `${INDEX_FILE_NAME} lists tensor ${name} in ${file}, but that shard does not contain it. The checkpoint is incomplete; download it again.`, { tensor: name, file });
        }
      }
    }
    return new SafetensorsCheckpoint(tensors, sources);
  }

  /** Info for `name`, or 'invalid-model' naming the missing tensor. */
  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) {
      throw new SarashinaError('invalid-model', `The checkpoint has no tensor ${name}. Check that it is a Sarashina2-Vision checkpoint and complete.`, { tensor: name });
    }
    return info;
  }

  /** Reads one tensor's raw bytes. */
  async read(name: string): Promise<TensorData> {
    const info = this.info(name);
    const source = this.sources.get(info.file);
    if (!source) throw new SarashinaError('internal', `No open source for ${info.file}.`, { file: info.file });
    const bytes = await source.read(info.byteOffset, info.sizeBytes);
    return { dtype: info.dtype, shape: info.shape, bytes };
  }

  /** Reads one tensor and converts it to float32 (exact for BF16 and F16). */
  async readFloat32(name: string): Promise<{ readonly shape: readonly number[]; readonly data: Float32Array }> {
    const { dtype, shape, bytes } = await this.read(name);
    return { shape, data: toFloat32(dtype, bytes, `tensor ${name}`) };
  }
}

function parseIndex(text: string, location: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SarashinaError('invalid-model', `${location} is not valid JSON (${String(e)}). Download it again.`, { file: location });
  }
  const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null) {
    throw new SarashinaError('invalid-model', `${location} has no "weight_map" object. Download it again.`, { file: location });
  }
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file.startsWith('.')) {
      throw new SarashinaError('invalid-model', `${location}: tensor ${name} maps to ${JSON.stringify(file)}, not a plain shard file name.`, { file: location, tensor: name });
    }
    map.set(name, file);
  }
  return map;
}

async function readOptionalText(location: string, remote: boolean, fetchImpl: typeof fetch | undefined): Promise<string | null> {
  if (!remote) {
    try {
      return await readFile(location, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new SarashinaError('invalid-model', `Cannot read ${location}: ${String(e)}.`, { file: location }, { cause: e });
    }
  }
  let response: Response;
  try {
    response = await (fetchImpl ?? fetch)(location);
  } catch (e) {
    throw new SarashinaError('download-failed', `Cannot fetch ${location}: ${String(e)}. Check the URL and the network.`, { url: location }, { cause: e });
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new SarashinaError('download-failed', `${location}: HTTP ${response.status}. Check the URL.`, { url: location, status: response.status });
  }
  return response.text();
}
