/**
 * How the vision kernels (linear, layer-norm, attention) hold and compute numbers: the element type of activations
 * and weights in storage, and the type of their arithmetic. Each is a WGSL prelude compiled before a kernel body:
 * storage-f32.wgsl / storage-f16.wgsl (f16 as packed pairs, no device feature) with arithmetic-f32.wgsl, or
 * arithmetic-f16.wgsl alone (`enable f16;`, f16 storage read natively; needs `shader-f16`).
 */
import { SarashinaError } from '../../src/protocol/errors';
import arithmeticF16Wgsl from './arithmetic-f16.wgsl?raw';
import arithmeticF32Wgsl from './arithmetic-f32.wgsl?raw';
import storageF16Wgsl from './storage-f16.wgsl?raw';
import storageF32Wgsl from './storage-f32.wgsl?raw';

/** Element type of activations and weights in storage. */
export type VisionStorage = 'f32' | 'f16';

export const VISION_STORAGES: readonly VisionStorage[] = ['f32', 'f16'];

/**
 * Type of the products and short sums in the dense layers and attention (f16: runs of ≤ 16 products in f16, totals,
 * softmax and LayerNorm statistics in f32; see arithmetic-f16.wgsl). 'f16' needs f16 storage and `shader-f16`.
 */
export type VisionArithmetic = 'f32' | 'f16';

/** A (storage, arithmetic) pair the kernels are built for. */
export interface VisionNumerics {
  readonly storage: VisionStorage;
  readonly arithmetic: VisionArithmetic;
}

/** Every pair with a kernel variant: f32 arithmetic on either storage, f16 arithmetic on f16 storage. */
export const VISION_NUMERICS: readonly VisionNumerics[] = [
  { storage: 'f32', arithmetic: 'f32' },
  { storage: 'f16', arithmetic: 'f32' },
  { storage: 'f16', arithmetic: 'f16' },
];

/** Throws `internal` for f16 arithmetic on f32 storage (no variant: the plan never asks for it). */
export function checkVisionNumerics(kernel: string, n: VisionNumerics): void {
  if (n.arithmetic === 'f16' && n.storage !== 'f16') {
    throw new SarashinaError('internal', `${kernel}: f16 arithmetic runs on f16 storage only, got ${n.storage} storage. Take the arithmetic from the package plan (visionArithmetic).`, {
      storage: n.storage,
      arithmetic: n.arithmetic,
    });
  }
}

/** The preludes of a variant, in module order (`enable f16;` first). Throws like checkVisionNumerics. */
export function visionPrelude(kernel: string, n: VisionNumerics): string {
  checkVisionNumerics(kernel, n);
  if (n.arithmetic === 'f16') return arithmeticF16Wgsl;
  return `${n.storage === 'f16' ? storageF16Wgsl : storageF32Wgsl}\n${arithmeticF32Wgsl}`;
}

/** The variant's part of a kernel name: the storage type, with `-arith` when the arithmetic is f16 too ('f16-arith'). */
export function visionNumericsName(n: VisionNumerics): string {
  return n.arithmetic === 'f16' ? `${n.storage}-arith` : n.storage;
}

/** Bytes per element in storage. */
export function visionStorageBytes(storage: VisionStorage): number {
  return storage === 'f16' ? 2 : 4;
}
