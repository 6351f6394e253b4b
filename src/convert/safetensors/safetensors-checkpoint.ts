/**
 * A Hugging Face safetensors checkpoint — one `model.safetensors` or shards listed by
 * `model.safetensors.index.json` — read through a CheckpointSource (a directory, an http(s) folder, a Hub
 * revision). Only the headers are read at open; `read` fetches one tensor and `readRows` a row range of one, so
 * memory is bounded by what the caller asks for, not the model.
 */

import { SarashinaError } from '../../protocol/errors';
import type { ByteSource, CheckpointSource } from '../checkpoint-source';
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

export class SafetensorsCheckpoint {
  /** Tensor name → where it lives, in the order the files list them. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  private readonly sources: ReadonlyMap<string, ByteSource>;

  private constructor(tensors: Map<string, TensorInfo>, sources: Map<string, ByteSource>) {
    this.tensors = tensors;
    this.sources = sources;
  }

  /**
   * Opens the checkpoint of `source`. Uses the index when present, else the single file. Validates every header
   * and that the index and the shards agree: a tensor the index names but its shard lacks, or a duplicated tensor,
   * is 'invalid-model'.
   */
  static async open(source: CheckpointSource, signal?: AbortSignal): Promise<SafetensorsCheckpoint> {
    const indexBytes = await source.readFile(INDEX_FILE_NAME, signal);
    const where = `${source.description}/${INDEX_FILE_NAME}`;
    let weightMap: Map<string, string> | null = null;
    let files: string[];
    if (indexBytes !== null) {
      weightMap = parseIndex(new TextDecoder().decode(indexBytes), where);
      files = [...new Set(weightMap.values())];
    } else {
      files = [SINGLE_FILE_NAME];
    }

    const tensors = new Map<string, TensorInfo>();
    const sources = new Map<string, ByteSource>();
    for (const file of files) {
      const bytes = await source.openFile(file, signal);
      sources.set(file, bytes);
      const headerLength = parseHeaderLength(await bytes.read(0, Math.min(8, bytes.sizeBytes), signal), bytes.name, bytes.sizeBytes);
      const header = parseSafetensorsHeader(await bytes.read(8, headerLength, signal), bytes.name, bytes.sizeBytes);
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
  async read(name: string, signal?: AbortSignal): Promise<TensorData> {
    const info = this.info(name);
    return { dtype: info.dtype, shape: info.shape, bytes: await this.readBytes(name, 0, info.sizeBytes, signal) };
  }

  /** `length` raw bytes of tensor `name` from `offset` within it (one range read: a row range of a large tensor). */
  async readBytes(name: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const info = this.info(name);
    if (offset < 0 || offset + length > info.sizeBytes) throw new RangeError(`bytes ${offset}+${length} are outside tensor ${name} (${info.sizeBytes} bytes)`);
    const source = this.sources.get(info.file);
    if (!source) throw new SarashinaError('internal', `No open source for ${info.file}.`, { file: info.file });
    return source.read(info.byteOffset + offset, length, signal);
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
