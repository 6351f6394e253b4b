/**
 * Element types a safetensors checkpoint may hold for Sarashina2-Vision, and exact conversions
 * between them and float32. bf16 → f32 is exact (bf16 is the top half of an f32); f32 → bf16
 * rounds to nearest, ties to even, as PyTorch does.
 */

import { SarashinaError } from '../../protocol/errors';

export type SafetensorsDtype = 'BF16' | 'F16' | 'F32';

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { BF16: 2, F16: 2, F32: 4 };

/** True when `value` names a dtype this reader supports. */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return value === 'BF16' || value === 'F16' || value === 'F32';
}

/** Bytes per element of `dtype`. */
export function dtypeSizeBytes(dtype: SafetensorsDtype): number {
  return BYTES_PER_ELEMENT[dtype];
}

/** Number of elements of a tensor of `shape` (1 for a scalar, `[]`). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Exact bf16 → f32: each 16-bit value becomes the upper half of an f32. `bytes` is little-endian bf16. */
export function bf16ToFloat32(bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength >>> 1;
  const out = new Float32Array(count);
  const outBits = new Uint32Array(out.buffer);
  if (bytes.byteOffset % 2 === 0) {
    // Aligned: read whole 16-bit words (host order is little-endian on every platform we target).
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) outBits[i] = (halves[i] ?? 0) << 16;
    return out;
  }
  for (let i = 0; i < count; i++) {
    outBits[i] = ((bytes[2 * i] ?? 0) | ((bytes[2 * i + 1] ?? 0) << 8)) << 16;
  }
  return out;
}

/** IEEE half → f32 (exact; subnormals, infinities and NaN preserved). `bytes` is little-endian f16. */
export function f16ToFloat32(bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength >>> 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const h = (bytes[2 * i] ?? 0) | ((bytes[2 * i + 1] ?? 0) << 8);
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) out[i] = mantissa === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

/**
 * f32 → bf16 bits, round to nearest with ties to even (NaN stays a quiet NaN). Writes
 * little-endian bf16 into `out` (2 bytes per value) starting at byte `outOffset`.
 */
export function float32ToBf16Bytes(values: Float32Array, out: Uint8Array, outOffset = 0): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i] ?? 0;
    let h: number;
    if ((x & 0x7fffffff) > 0x7f800000) h = (x >>> 16) | 0x40;
    else h = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    out[outOffset + 2 * i] = h & 0xff;
    out[outOffset + 2 * i + 1] = (h >>> 8) & 0xff;
  }
}

/**
 * Any supported dtype → Float32Array. `bytes` must hold whole elements; `context` names the
 * tensor for the error message.
 */
export function toFloat32(dtype: SafetensorsDtype, bytes: Uint8Array, context = 'tensor'): Float32Array {
  if (bytes.byteLength % BYTES_PER_ELEMENT[dtype] !== 0) {
    throw new SarashinaError(
      'invalid-model',
      `${context}: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements. The checkpoint is damaged; download it again.`,
      { dtype, sizeBytes: bytes.byteLength },
    );
  }
  if (dtype === 'BF16') return bf16ToFloat32(bytes);
  if (dtype === 'F16') return f16ToFloat32(bytes);
  // Copy so the result is aligned and owns its memory, whatever the view's offset.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
