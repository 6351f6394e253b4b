/**
 * The safetensors header: an 8-byte little-endian length N, N bytes of JSON naming every tensor's
 * dtype, shape and [begin, end) byte range within the data section that follows. Validated here
 * once, so readers can trust every offset.
 */

import { SarashinaError } from '../../protocol/errors';
import { dtypeSizeBytes, elementCount, isSafetensorsDtype, type SafetensorsDtype } from './safetensors-dtype';

/**
 * Largest header we accept: the safetensors library's own limit (100,000,000 bytes; a longer header is refused
 * by Hugging Face too). The real 8B shards have headers of ~30 KB.
 */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte offset of the tensor's data from the start of the file. */
  readonly byteOffset: number;
  readonly sizeBytes: number;
}

export interface SafetensorsHeader {
  /** Bytes before the data section: 8 + JSON length. */
  readonly dataStart: number;
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>>;
}

function invalid(file: string, what: string, details: Record<string, string | number> = {}): SarashinaError {
  return new SarashinaError('invalid-model', `${file}: ${what}. The safetensors file is damaged or not a safetensors file; download it again.`, { file, ...details });
}

/** Reads the JSON length from the first 8 bytes and checks it fits the file. */
export function parseHeaderLength(prefix: Uint8Array, file: string, fileSizeBytes: number): number {
  if (fileSizeBytes < 8 || prefix.byteLength < 8) throw invalid(file, `file is ${fileSizeBytes} bytes, shorter than the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = Number(view.getBigUint64(0, true));
  if (length < 2 || length > MAX_HEADER_BYTES) throw invalid(file, `header length ${length} is not between 2 and ${MAX_HEADER_BYTES} bytes`, { headerLength: length });
  if (8 + length > fileSizeBytes) throw invalid(file, `header length ${length} runs past the end of the ${fileSizeBytes}-byte file`, { headerLength: length, sizeBytes: fileSizeBytes });
  return length;
}

/**
 * Parses and validates the JSON header. Checks: valid JSON object; each tensor has a supported
 * dtype, a shape of non-negative integers and offsets whose length equals dtype size × elements;
 * tensors tile the data section contiguously with no gap or overlap; the data section ends exactly
 * at the end of the file (so a truncated file is caught before any tensor is read).
 */
export function parseSafetensorsHeader(json: Uint8Array, file: string, fileSizeBytes: number): SafetensorsHeader {
  const dataStart = 8 + json.byteLength;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw invalid(file, `header is not valid UTF-8 JSON (${String(e)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(file, 'header is not a JSON object');
  const metadata: Record<string, string> = {};
  const raw: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'string') metadata[k] = v;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) throw invalid(file, `tensor ${name}: entry is not an object`, { tensor: name });
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isSafetensorsDtype(dtype)) {
      throw new SarashinaError('invalid-model', `${file}: tensor ${name} has dtype ${JSON.stringify(dtype)}; only BF16, F16 and F32 are supported. Export the checkpoint in one of those.`, { file, tensor: name, dtype: String(dtype) });
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalid(file, `tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`, { tensor: name });
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) throw invalid(file, `tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`, { tensor: name });
    const [begin, end] = offsets as [number, number];
    const dims = shape as number[];
    const expected = elementCount(dims) * dtypeSizeBytes(dtype);
    if (!Number.isSafeInteger(expected)) throw invalid(file, `tensor ${name}: shape ${JSON.stringify(dims)} has more bytes than any file can hold`, { tensor: name });
    if (end - begin !== expected) {
      throw invalid(file, `tensor ${name}: ${dtype} ${JSON.stringify(dims)} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`, { tensor: name, expectedBytes: expected, actualBytes: end - begin });
    }
    raw.push({ name, dtype, shape: dims, begin, end });
  }
  raw.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of raw) {
    if (t.begin !== cursor) {
      throw invalid(file, `tensor ${t.name} starts at data offset ${t.begin} but the previous tensor ended at ${cursor} (tensors must be contiguous, without gaps or overlaps)`, { tensor: t.name, begin: t.begin, expectedBegin: cursor });
    }
    cursor = t.end;
  }
  if (dataStart + cursor !== fileSizeBytes) {
    const what = dataStart + cursor > fileSizeBytes ? 'is truncated' : 'has trailing bytes';
    throw invalid(file, `file ${what}: the header describes ${dataStart + cursor} bytes but the file has ${fileSizeBytes}`, { expectedBytes: dataStart + cursor, sizeBytes: fileSizeBytes });
  }
  const entries = raw.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteOffset: dataStart + t.begin, sizeBytes: t.end - t.begin }));
  return { dataStart, entries, metadata };
}
