/**
 * Writes a safetensors file without holding the tensors in memory: the header (every tensor's
 * dtype, shape and offsets) is written first, then each tensor's bytes are streamed in the
 * order given, chunk by chunk. The file appears under its final name only when complete.
 */

import { open, rename, rm } from 'node:fs/promises';
import { SarashinaError } from '../../src/protocol/errors';
import { dtypeSizeBytes, elementCount, type SafetensorsDtype } from '../../src/convert/safetensors/safetensors-dtype';

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Yields the tensor's little-endian bytes in order; the total must equal dtype size × elements. */
  readonly chunks: () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** Byte size of a tensor's data. */
export function tensorSizeBytes(tensor: Pick<TensorToWrite, 'dtype' | 'shape'>): number {
  return elementCount(tensor.shape) * dtypeSizeBytes(tensor.dtype);
}

/**
 * The header bytes (8-byte length + JSON, padded with spaces to a multiple of 8 so the data
 * section is aligned, as the Python writer does). Tensors are laid out in the order given.
 */
export function encodeSafetensorsHeader(tensors: readonly Pick<TensorToWrite, 'name' | 'dtype' | 'shape'>[], metadata: Readonly<Record<string, string>> = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new SarashinaError('internal', `Tensor name ${t.name} is reserved or duplicated.`, { tensor: t.name });
    const size = tensorSizeBytes(t);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const withPad = new Uint8Array(padded).fill(0x20);
    withPad.set(json);
    json = withPad;
  }
  const out = new Uint8Array(8 + json.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

/**
 * Writes `tensors` to `path` (via `path + '.partial'`, renamed at the end). Returns the file's
 * size in bytes. A tensor whose chunks do not add up to its size is an 'internal' error and
 * leaves no file behind.
 */
export async function writeSafetensorsFile(path: string, tensors: readonly TensorToWrite[], options: { metadata?: Readonly<Record<string, string>> } = {}): Promise<number> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  let position = 0;
  try {
    const header = encodeSafetensorsHeader(tensors, options.metadata);
    await writeAll(handle, header, position);
    position += header.byteLength;
    for (const t of tensors) {
      const expected = tensorSizeBytes(t);
      let produced = 0;
      for await (const chunk of t.chunks()) {
        produced += chunk.byteLength;
        if (produced > expected) break;
        await writeAll(handle, chunk, position);
        position += chunk.byteLength;
      }
      if (produced !== expected) {
        const amount = produced > expected ? 'more than' : `${produced}, not`;
        throw new SarashinaError('internal', `Tensor ${t.name}: the producer gave ${amount} the ${expected} bytes its ${t.dtype} ${JSON.stringify(t.shape)} shape needs.`, { tensor: t.name, expectedBytes: expected });
      }
    }
    await handle.close();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw e;
  }
  await rename(partial, path);
  return position;
}

async function writeAll(handle: import('node:fs/promises').FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}
