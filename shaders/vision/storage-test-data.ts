/**
 * Test data in the vision kernels' storage types: f32 as is, f16 as packed IEEE binary16 pairs (what
 * storage-f16.wgsl and attention/io-f16.wgsl read and write).
 */
import { float16Bits } from '../../src/gpu/float16-bits';
import type { VisionStorage } from './linear/vision-linear';

/** Bytes per element in `storage`. */
export function storageElementBytes(storage: VisionStorage): number {
  return storage === 'f16' ? 2 : 4;
}

/**
 * `data` as `storage` bytes (padded to 4 bytes for the GPU). For f16 it first rounds `data` in place to the
 * f16 values the kernel will see, so a reference computed from `data` gets the same inputs.
 */
export function toStorage(data: Float32Array, storage: VisionStorage): Float32Array | Uint16Array {
  if (storage === 'f32') return data;
  const bits = float16Bits(data);
  data.set(Array.from(bits, f16Value));
  return bits.length % 2 ? Uint16Array.from([...bits, 0]) : bits;
}

/** `storage` bytes back to numbers. */
export function fromStorage(bytes: ArrayBuffer, storage: VisionStorage): Float32Array {
  return storage === 'f16' ? Float32Array.from(new Uint16Array(bytes), f16Value) : new Float32Array(bytes);
}

/** The value of IEEE binary16 bits `h`. */
export function f16Value(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}
