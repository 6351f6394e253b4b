/**
 * Int4 block-32 symmetric round-to-nearest quantization of a linear layer's weight, in the layout
 * onnxruntime's `MatMulNBits` (com.microsoft, bits 4, block_size 32, no zero points) reads — the
 * engine's own WGSL GEMV reads the same bytes.
 *
 * Format, for a weight W [N, K] (N outputs, K inputs, Hugging Face `nn.Linear` layout):
 *   block b of row n = W[n, 32b … 32b+31];  scale[n, b] = max|block| / 7
 *   q = clamp(round(w / scale), -8, 7)        (round half away from zero; all-zero block → scale 0, q 0)
 *   stored nibble = q + 8 (0…15); byte j of a block = nibble[2j] | nibble[2j+1] << 4 (low nibble first)
 *   packed: uint8 [N, ceil(K/32), 16];  scales: [N, ceil(K/32)], f32 (q4f32) or f16 (q4f16)
 *   dequantized w' = (nibble − 8) · scale
 * Any K: when K % 32 ≠ 0 each row's last block holds K % 32 real values and is padded with the code 8 (the
 * implicit zero point, so the padding dequantizes to exactly 0) — MatMulNBits' layout, B [N, ceil(K/32), 16] with
 * the node's K attribute the true K. The last block's scale comes from its real values only.
 *
 * Why /7 and not /8: with /7 the largest |w| maps exactly to ±7, so no value is ever clamped and the
 * error bound is simply |w − w'| ≤ scale / 2 = max|block| / 14 (the code −8 is never produced). /8
 * would be a touch finer for the negative extreme but clamps the positive one by a full step.
 * With f16 scales the rounded scale is used for q, so the same bound holds with that scale (up to the
 * one clamp a scale rounded down by < 2^-11 relative can cause, which adds < 0.004 · scale).
 */
import { SarashinaError } from '../../protocol/errors';
import { INT4_BLOCK_BYTES, INT4_BLOCK_SIZE, int4BlocksPerRow } from '../../protocol/int4-layout';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';

export { INT4_BLOCK_BYTES, INT4_BLOCK_SIZE, int4BlocksPerRow };

export type ScaleType = 'float32' | 'float16';

export interface Int4Weight {
  /** uint8 [rows, ceil(cols/32), 16]: two 4-bit codes per byte, low nibble first; padding codes are 8. */
  readonly packed: Uint8Array;
  /** [rows, ceil(cols/32)] f32 values (scaleType 'float32') or f16 bit patterns ('float16'). */
  readonly scales: Float32Array | Uint16Array;
  readonly scaleType: ScaleType;
  readonly rows: number;
  readonly cols: number;
}

export interface QuantizeOptions {
  readonly scaleType: ScaleType;
  /** Named in errors (e.g. the checkpoint tensor name). */
  readonly name?: string;
}

/**
 * Quantizes W [rows, cols] (row-major f32, rows = output features) to int4 block-32.
 * Any `cols` ≥ 1 (the last block of a row padded with zeros); non-finite weights are rejected (they would poison a
 * whole block).
 */
export function quantizeInt4Block32(weight: Float32Array, rows: number, cols: number, options: QuantizeOptions): Int4Weight {
  const name = options.name ?? 'weight';
  if (weight.length !== rows * cols) {
    throw new SarashinaError('invalid-model', `${name}: has ${weight.length} values but its shape [${rows}, ${cols}] needs ${rows * cols}.`, {
      tensor: name,
      expected: rows * cols,
      actual: weight.length,
    });
  }
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows <= 0 || cols <= 0) {
    throw new SarashinaError('invalid-model', `${name}: shape [${rows}, ${cols}] is not two positive integers; a linear weight needs both.`, { tensor: name, rows, cols });
  }
  const blocks = int4BlocksPerRow(cols);
  const packed = new Uint8Array(rows * blocks * INT4_BLOCK_BYTES);
  const scales = options.scaleType === 'float16' ? new Uint16Array(rows * blocks) : new Float32Array(rows * blocks);
  const codes = new Uint8Array(INT4_BLOCK_SIZE);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const base = r * cols + b * INT4_BLOCK_SIZE;
      // Real values in this block: 32, or cols % 32 in a padded last block.
      const count = Math.min(INT4_BLOCK_SIZE, cols - b * INT4_BLOCK_SIZE);
      let maxAbs = 0;
      for (let i = 0; i < count; i++) {
        const w = weight[base + i] ?? 0;
        if (!Number.isFinite(w)) {
          throw new SarashinaError('invalid-model', `${name}: value ${w} at [${r}, ${b * INT4_BLOCK_SIZE + i}] is not finite; the checkpoint is damaged.`, {
            tensor: name,
            row: r,
            col: b * INT4_BLOCK_SIZE + i,
          });
        }
        maxAbs = Math.max(maxAbs, Math.abs(w));
      }
      let scale = Math.fround(maxAbs / 7);
      const s = r * blocks + b;
      if (options.scaleType === 'float16') {
        const bits = float32ToFloat16Bits(scale);
        scales[s] = bits;
        scale = float16BitsToFloat32(bits);
      } else {
        scales[s] = scale;
      }
      const inv = scale > 0 ? 1 / scale : 0;
      codes.fill(8);
      for (let i = 0; i < count; i++) {
        const v = (weight[base + i] ?? 0) * inv;
        const q = Math.min(7, Math.max(-8, Math.sign(v) * Math.round(Math.abs(v))));
        codes[i] = q + 8;
      }
      const out = s * INT4_BLOCK_BYTES;
      for (let j = 0; j < INT4_BLOCK_BYTES; j++) packed[out + j] = (codes[2 * j] ?? 8) | ((codes[2 * j + 1] ?? 8) << 4);
    }
  }
  return { packed, scales, scaleType: options.scaleType, rows, cols };
}

/** The f32 value of every scale (decoding f16 bits when needed). */
export function scaleValues(weight: Int4Weight): Float32Array {
  if (weight.scaleType === 'float32') return weight.scales as Float32Array;
  const out = new Float32Array(weight.scales.length);
  for (let i = 0; i < out.length; i++) out[i] = float16BitsToFloat32(weight.scales[i] ?? 0);
  return out;
}

/** W' [rows, cols] = (nibble − 8) · scale: exactly what MatMulNBits multiplies by (a padded block's tail dropped). */
export function dequantizeInt4Block32(weight: Int4Weight): Float32Array {
  const { rows, cols, packed } = weight;
  const blocks = int4BlocksPerRow(cols);
  const scales = scaleValues(weight);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const s = r * blocks + b;
      const scale = scales[s] ?? 0;
      const count = Math.min(INT4_BLOCK_SIZE, cols - b * INT4_BLOCK_SIZE);
      for (let i = 0; i < count; i++) {
        const byte = packed[s * INT4_BLOCK_BYTES + (i >> 1)] ?? 0;
        out[r * cols + b * INT4_BLOCK_SIZE + i] = ((i & 1 ? byte >> 4 : byte & 0xf) - 8) * scale;
      }
    }
  }
  return out;
}
