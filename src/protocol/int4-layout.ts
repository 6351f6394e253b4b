/**
 * The int4 weight layout every part shares (exporter, engine kernels, size estimates): onnxruntime's
 * `MatMulNBits` (com.microsoft) with bits 4, block_size 32 and no zero points. A weight W [N, K] is stored as
 * B uint8 [N, ceil(K / 32), 16] and scales [N, ceil(K / 32)]; the node's K attribute is the true K. When
 * K % 32 ≠ 0 each row's last block is padded (the exporter pads with the implicit zero point 8, which dequantizes
 * to 0); readers multiply only the first K values of a row.
 */

/** int4 values per quantization block (MatMulNBits block_size). */
export const INT4_BLOCK_SIZE = 32;
/** Bytes per block: two 4-bit codes per byte. */
export const INT4_BLOCK_BYTES = INT4_BLOCK_SIZE / 2;

/** Blocks per row for input width `k` (MatMulNBits' n_blocks_per_col): ceil(k / 32). */
export function int4BlocksPerRow(k: number): number {
  return Math.ceil(k / INT4_BLOCK_SIZE);
}

/** Bytes of an int4 weight [rows, k] in this layout: the packed codes and the scales (`scaleBytes` each). */
export function int4WeightBytes(rows: number, k: number, scaleBytes: number): { packedBytes: number; scalesBytes: number } {
  const blocks = rows * int4BlocksPerRow(k);
  return { packedBytes: blocks * INT4_BLOCK_BYTES, scalesBytes: blocks * scaleBytes };
}
