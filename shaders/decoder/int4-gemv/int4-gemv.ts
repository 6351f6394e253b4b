/**
 * int4 GEMV for the decode step (M = 1) over weights in onnxruntime's MatMulNBits layout (int4-gemv.wgsl),
 * optionally with the Llama RMSNorm of x fused in front, with f32 scales (q4f32) or f16 scales (q4f16; one
 * descriptor per scales prelude, f32 arithmetic either way). `chooseGemvVariant` picks the workgroup size and rows
 * per workgroup from the adapter's limits.
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import type { GpuCapabilities } from '../../../src/gpu/gpu-context';
import { SarashinaError } from '../../../src/protocol/errors';
import { INT4_BLOCK_SIZE, int4BlocksPerRow } from '../../../src/protocol/int4-layout';
import int4GemvWgsl from './int4-gemv.wgsl?raw';
import scalesF16Wgsl from './scales-f16.wgsl?raw';
import scalesF32Wgsl from './scales-f32.wgsl?raw';

/** int4 values per quantization block (MatMulNBits block_size). */
export const INT4_BLOCK = INT4_BLOCK_SIZE;

export type GemvEpilogue = 'store' | 'add' | 'swiglu';
/** The int4 GEMV's epilogues: the shared ones plus 'store3' (three matrices stacked along n in one dispatch). */
export type Int4GemvEpilogue = GemvEpilogue | 'store3';

/** Element type of the int4 scales (MatMulNBits' scales input: float32 in q4f32 packages, float16 in q4f16). */
export type Int4ScaleDtype = 'float32' | 'float16';

export const INT4_SCALE_DTYPES: readonly Int4ScaleDtype[] = ['float32', 'float16'];

const SCALES_PRELUDE: Readonly<Record<Int4ScaleDtype, string>> = { float32: scalesF32Wgsl, float16: scalesF16Wgsl };
const SCALE_BYTES: Readonly<Record<Int4ScaleDtype, number>> = { float32: 4, float16: 2 };

const int4GemvDescriptor = (dtype: Int4ScaleDtype) =>
  defineKernel({
    name: `int4-gemv/${dtype === 'float16' ? 'f16' : 'f32'}-scales`,
    code: `${SCALES_PRELUDE[dtype]}\n${int4GemvWgsl}`,
    entryPoints: ['main_store', 'main_store3', 'main_add', 'main_swiglu'],
    constants: ['WORKGROUP_SIZE', 'ROWS', 'NORM'],
    params: new UniformStruct('Params', {
      n: 'u32',
      k: 'u32',
      blocks_per_row: 'u32',
      up_row_offset: 'u32',
      y_offset: 'u32',
      eps: 'f32',
      norm_offset: 'u32',
      n_b: 'u32',
    }),
    bindings: ['x', 'qweight', 'scales', 'y', 'qweight2', 'scales2', 'qweight3', 'scales3'],
  });

/** The int4 GEMV's descriptor per scale type: the scales prelude, then int4-gemv.wgsl (same bindings and entry points). */
export const INT4_GEMV = { float32: int4GemvDescriptor('float32'), float16: int4GemvDescriptor('float16') } as const;

export interface GemvShape {
  /** Output rows (the weight's N). */
  readonly n: number;
  /**
   * Input length (the weight's K, MatMulNBits' K attribute): any positive integer. Each weight row holds
   * ceil(K / 32) blocks, the last one padded (as MatMulNBits pads it); x is read as ceil(K / 4) vec4s, so its
   * buffer holds 4 · ceil(K / 4) floats, the ones past K masked to 0 whatever they are.
   */
  readonly k: number;
  readonly epilogue: Int4GemvEpilogue;
  /** SwiGLU only: the first up row inside qweight2/scales2 (N when gate and up are one packed [2N, …] buffer). Default 0. */
  readonly upRowOffset?: number;
  /**
   * 'store3' only: the row counts of the first two matrices (qweight/scales, then qweight2/scales2); the third
   * (qweight3/scales3) has the remaining n − a − b rows. a and b must be multiples of the variant's rows.
   */
  readonly stacked?: readonly [a: number, b: number];
  /** First element of y written (e.g. q, k and v GEMVs writing one packed qkv buffer). Default 0. */
  readonly yOffset?: number;
  /** Element type of every scales buffer of the dispatch. Default 'float32'. */
  readonly scaleDtype?: Int4ScaleDtype;
  /**
   * Fuse the Llama RMSNorm of x: the GEMV multiplies by x · w · inverseSqrt(mean(x²) + eps) instead of x, so no
   * separate norm dispatch is needed. The weight w [k] is read from the x buffer at f32 element `weightOffset`
   * (a multiple of 4, at or past k): one binding fewer, so q, k and v fit one dispatch within 8 storage buffers.
   */
  readonly norm?: { readonly eps: number; readonly weightOffset: number };
}

export interface GemvVariant {
  /** Invocations per workgroup (a power of two). */
  readonly workgroupSize: number;
  /** Output rows per workgroup (1..8). */
  readonly rows: number;
}

export type GemvCapabilities = Pick<GpuCapabilities, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupStorageSize'>;

/** Accumulators per invocation in the shader (MAX_ACC): rows, or 2 · rows for SwiGLU, plus the norm's Σ x². */
const MAX_ACC = 17;
const MAX_ROWS = 8;
const PREFERRED_WORKGROUP_SIZE = 64;
const PREFERRED_ROWS = 8;

/**
 * 64 invocations and 8 rows per workgroup for every shape (fewer invocations only where the device's limits
 * require it): the fastest in every chain of bench/results/int4-gemv-h200-run6.json (BENCH.md "Decode-step
 * kernels"; the subgroup reduction, unroll 2 and 'convert' unpacking measured there are in git at 3056313).
 */
export function chooseGemvVariant(caps: GemvCapabilities, shape: GemvShape): GemvVariant {
  validateGemvShape(shape);
  let workgroupSize = PREFERRED_WORKGROUP_SIZE;
  while (workgroupSize > 16 && workgroupSize > caps.maxComputeInvocationsPerWorkgroup) workgroupSize /= 2;
  // The reduction tree keeps MAX_ACC floats per invocation in workgroup memory.
  while (workgroupSize > 16 && MAX_ACC * 4 * workgroupSize + 64 > caps.maxComputeWorkgroupStorageSize) workgroupSize /= 2;
  return { workgroupSize, rows: PREFERRED_ROWS };
}

/** A short stable name of a variant (bench rows, test names). */
export function gemvVariantName(v: GemvVariant): string {
  return `wg${v.workgroupSize}/rows${v.rows}`;
}

export function validateGemvShape(shape: GemvShape): void {
  if (!Number.isSafeInteger(shape.k) || shape.k <= 0) {
    throw new SarashinaError('invalid-model', `int4 GEMV: K = ${shape.k} must be a positive integer input width. Check the weight shapes in the manifest.`, {
      k: shape.k,
    });
  }
  if (!Number.isInteger(shape.n) || shape.n <= 0) {
    throw new SarashinaError('invalid-model', `int4 GEMV: N = ${shape.n} must be a positive integer row count. Check the weight shapes in the manifest.`, {
      n: shape.n,
    });
  }
}

export interface GemvBuffers {
  /** f32 [k] (and the norm weight at the shape's norm.weightOffset). */
  readonly x: GPUBuffer;
  /** u8 [n, k/32, 16] (MatMulNBits B). */
  readonly qweight: GPUBuffer;
  /** [n, k/32] of the shape's scaleDtype (f32, or f16 as the package stores it). */
  readonly scales: GPUBuffer;
  /** f32 [yOffset + n]: written ('store', 'swiglu') or accumulated into ('add') from yOffset. */
  readonly y: GPUBuffer;
  /** SwiGLU: the up projection's B and scales (same shape; qweight/scales are the gate's). store3: the second matrix. */
  readonly qweight2?: GPUBuffer;
  readonly scales2?: GPUBuffer;
  /** store3: the third matrix. */
  readonly qweight3?: GPUBuffer;
  readonly scales3?: GPUBuffer;
}

/**
 * Prepares y = x · Wᵀ (with the shape's epilogue) as a reusable dispatch. Rows are checked against the
 * buffer sizes so a wrong shape fails here, not as silent garbage.
 */
export function prepareInt4Gemv(
  kernels: KernelCache,
  buffers: GemvBuffers,
  shape: GemvShape,
  variant: GemvVariant,
): KernelDispatch {
  validateGemvShape(shape);
  if (variant.rows < 1 || variant.rows > MAX_ROWS) throw new RangeError(`int4 GEMV: rows per workgroup ${variant.rows} outside 1..${MAX_ROWS}`);
  const blocks = int4BlocksPerRow(shape.k);
  // x is read as whole vec4s: the last one may reach past k (its extra lanes are masked in the kernel).
  const xFloats = Math.ceil(shape.k / 4) * 4;
  const scaleDtype = shape.scaleDtype ?? 'float32';
  // Bytes of `rows` rows of scales, in whole words (f16 scales are read as u32 pairs).
  const scaleBytes = (rows: number): number => Math.ceil((rows * blocks * SCALE_BYTES[scaleDtype]) / 4) * 4;
  const [rowsA, rowsB] = shape.stacked ?? [shape.n, 0];
  if (shape.epilogue === 'store3') {
    const rowsC = shape.n - rowsA - rowsB;
    if (!shape.stacked || rowsA <= 0 || rowsB <= 0 || rowsC <= 0 || rowsA % variant.rows !== 0 || rowsB % variant.rows !== 0) {
      throw new RangeError(`int4 GEMV store3: stacked rows ${JSON.stringify(shape.stacked)} of n = ${shape.n} must be positive multiples of ${variant.rows} leaving a third matrix`);
    }
  }
  if (shape.norm && (shape.norm.weightOffset % 4 !== 0 || shape.norm.weightOffset < shape.k)) {
    throw new RangeError(`int4 GEMV: norm weight offset ${shape.norm.weightOffset} must be a multiple of 4 at or past k = ${shape.k}`);
  }
  const need: [string, GPUBuffer | undefined, number][] = [
    ['x', buffers.x, (shape.norm ? shape.norm.weightOffset + xFloats : xFloats) * 4],
    ['qweight', buffers.qweight, rowsA * blocks * 16],
    ['scales', buffers.scales, scaleBytes(rowsA)],
    ['y', buffers.y, ((shape.yOffset ?? 0) + shape.n) * 4],
  ];
  const upRows = shape.n + (shape.upRowOffset ?? 0);
  if (shape.epilogue === 'swiglu') need.push(['qweight2', buffers.qweight2, upRows * blocks * 16], ['scales2', buffers.scales2, scaleBytes(upRows)]);
  if (shape.epilogue === 'store3') {
    const rowsC = shape.n - rowsA - rowsB;
    need.push(
      ['qweight2', buffers.qweight2, rowsB * blocks * 16],
      ['scales2', buffers.scales2, scaleBytes(rowsB)],
      ['qweight3', buffers.qweight3, rowsC * blocks * 16],
      ['scales3', buffers.scales3, scaleBytes(rowsC)],
    );
  }
  for (const [name, buffer, sizeBytes] of need) {
    if (!buffer || buffer.size < sizeBytes) {
      throw new SarashinaError('internal', `int4 GEMV (n=${shape.n}, k=${shape.k}): buffer ${name} holds ${buffer?.size ?? 0} bytes, needs ${sizeBytes}.`, {
        buffer: name,
        sizeBytes: buffer?.size ?? 0,
        neededBytes: sizeBytes,
      });
    }
  }
  const { x, qweight, scales, y } = buffers;
  const second = shape.epilogue === 'swiglu' || shape.epilogue === 'store3' ? { qweight2: buffers.qweight2, scales2: buffers.scales2 } : {};
  const third = shape.epilogue === 'store3' ? { qweight3: buffers.qweight3, scales3: buffers.scales3 } : {};
  return kernels.prepare(INT4_GEMV[scaleDtype], {
    entryPoint: `main_${shape.epilogue}`,
    constants: { WORKGROUP_SIZE: variant.workgroupSize, ROWS: variant.rows, NORM: shape.norm ? 1 : 0 },
    params: {
      n: shape.n,
      k: shape.k,
      blocks_per_row: blocks,
      up_row_offset: shape.epilogue === 'store3' ? rowsA : (shape.upRowOffset ?? 0),
      y_offset: shape.yOffset ?? 0,
      eps: shape.norm?.eps ?? 0,
      norm_offset: shape.norm?.weightOffset ?? 0,
      n_b: rowsB,
    },
    buffers: { x, qweight, scales, y, ...second, ...third },
    workgroups: Math.ceil(shape.n / variant.rows),
  });
}

/** W[n, k] from MatMulNBits bytes and scales (zero point 8; rows of ceil(k / 32) blocks), f64 arithmetic. */
function weight(qweight: Uint8Array, scales: Float32Array, k: number, n: number, kk: number): number {
  const blocks = int4BlocksPerRow(k);
  const byte = qweight[n * blocks * 16 + Math.floor(kk / 2)] ?? 0;
  const q = kk % 2 === 0 ? byte & 15 : byte >> 4;
  return (q - 8) * (scales[n * blocks + Math.floor(kk / INT4_BLOCK)] ?? 0);
}

/** Plain-TS reference: dot[n] = Σ_{k < K} x[k] · W[n, k] in f64 (a padded last block's extra codes take no part). */
export function int4GemvReference(x: Float32Array, qweight: Uint8Array, scales: Float32Array, shape: { n: number; k: number }): Float64Array {
  const out = new Float64Array(shape.n);
  for (let n = 0; n < shape.n; n++) {
    let sum = 0;
    for (let kk = 0; kk < shape.k; kk++) sum += (x[kk] ?? 0) * weight(qweight, scales, shape.k, n, kk);
    out[n] = sum;
  }
  return out;
}
