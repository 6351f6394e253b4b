import visionLinearWgsl from '../../shaders/vision-linear.wgsl?raw';
import storageF16Wgsl from '../../shaders/vision-storage-f16.wgsl?raw';
import storageF32Wgsl from '../../shaders/vision-storage-f32.wgsl?raw';
import { bindBuffers, type KernelCache, type KernelSource, uniformBuffer } from '../gpu/kernel';
import { SarashinaError } from '../protocol/errors';

/** Element type of activations and weights in storage (f16: packed pairs; arithmetic is f32 either way). */
export type VisionStorage = 'f32' | 'f16';

/** The storage preludes of the vision dense kernels (shaders/vision-storage-*.wgsl). */
export const VISION_STORAGE_PRELUDE: Readonly<Record<VisionStorage, string>> = { f32: storageF32Wgsl, f16: storageF16Wgsl };

/** What follows the matrix product (shaders/vision-linear.wgsl). */
export type VisionLinearEpilogue = 'none' | 'quick-gelu' | 'gelu' | 'residual';

const EPILOGUE_CODE: Readonly<Record<VisionLinearEpilogue, number>> = { none: 0, 'quick-gelu': 1, gelu: 2, residual: 3 };

/** Register and workgroup blocking of shaders/vision-linear.wgsl (its tiling prelude). */
export interface VisionLinearTiling {
  /** Output rows and columns per invocation (multiples of 4). */
  readonly rowsPerThread: number;
  readonly colsPerThread: number;
  /** Invocations along rows and columns. */
  readonly threadsM: number;
  readonly threadsN: number;
  /** k per workgroup-memory tile (a multiple of 4). */
  readonly tileK: number;
  /** Workgroup-memory buffers per tile: 2 overlaps storing the next tile with no extra barrier (default 1). */
  readonly stages?: number;
}

export interface VisionLinearShape {
  readonly rows: number;
  /** Multiples of 4 (vec4 loads and stores). */
  readonly inDim: number;
  readonly outDim: number;
}

export interface VisionLinearBuffers {
  /** [rows, inDim] */
  readonly x: GPUBuffer;
  /** [outDim, inDim], Hugging Face nn.Linear layout. */
  readonly weight: GPUBuffer;
  /** [outDim], or none. */
  readonly bias?: GPUBuffer;
  /** [rows, outDim]; with the 'residual' epilogue it holds the residual and receives the sum. Must not alias x. */
  readonly y: GPUBuffer;
}

export interface VisionLinearOptions {
  readonly epilogue?: VisionLinearEpilogue;
  readonly storage?: VisionStorage;
  /** Default: chooseVisionLinearTiling(shape, device.limits). */
  readonly tiling?: VisionLinearTiling;
}

/** The device limits the tiling depends on (GPUSupportedLimits satisfies this). */
export interface VisionLinearLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupSizeY: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

/** Output block of one workgroup. */
export function visionLinearBlock(t: VisionLinearTiling): { rows: number; cols: number } {
  return { rows: t.threadsM * t.rowsPerThread, cols: t.threadsN * t.colsPerThread };
}

/** Workgroup memory the kernel declares for `t`, in bytes. */
export function visionLinearStorageBytes(t: VisionLinearTiling): number {
  const { rows, cols } = visionLinearBlock(t);
  return 4 * t.tileK * (rows + cols) * (t.stages ?? 1);
}

/** Whether `t` is well formed and fits `limits`. */
export function visionLinearTilingFits(t: VisionLinearTiling, limits: VisionLinearLimits): boolean {
  const threads = t.threadsM * t.threadsN;
  const { rows, cols } = visionLinearBlock(t);
  const whole = [t.rowsPerThread, t.colsPerThread, t.tileK].every((v) => Number.isInteger(v) && v >= 4 && v % 4 === 0) && [1, 2].includes(t.stages ?? 1);
  // Every invocation loads the same number of vec4s of each tile.
  const even = ((rows * t.tileK) / 4) % threads === 0 && ((cols * t.tileK) / 4) % threads === 0;
  return (
    whole &&
    even &&
    threads <= limits.maxComputeInvocationsPerWorkgroup &&
    t.threadsN <= limits.maxComputeWorkgroupSizeX &&
    t.threadsM <= limits.maxComputeWorkgroupSizeY &&
    visionLinearStorageBytes(t) <= limits.maxComputeWorkgroupStorageSize
  );
}

/**
 * The tilings the chooser uses. H200 (Dawn/Vulkan, f32), every dense shape of the 8B tower at 1024 / 3996 / 12288
 * patches (bench/vision-tower.bench.ts, bench/results/vision-tower-h200-run{1,2}.json): 64 × 128 blocks of 8 × 8
 * outputs per invocation (128 invocations, 12 KiB of workgroup memory) were fastest or within ~5 % of the fastest
 * on every shape from 3996 patches (30–33 TFLOP/s); at 1024 patches, single shapes ran up to 15 % faster with other
 * blocks, but the whole tower with this block everywhere was as fast or faster than a per-shape choice (94.5 vs
 * 103.6 ms at 1024 patches, 437 vs 439 at 3996, 2733 vs 2735 at 12288). 128 × 128 blocks (16 KiB) were sometimes
 * 1.8× slower; two workgroup stages or k tiles of 32 were 5–25 % slower.
 */
export const VISION_LINEAR_LARGE: VisionLinearTiling = { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 16, tileK: 16 };
export const VISION_LINEAR_MEDIUM: VisionLinearTiling = { rowsPerThread: 4, colsPerThread: 4, threadsM: 16, threadsN: 16, tileK: 16 };
/** Within any WebGPU device's limits (64 invocations, 2 KiB of workgroup memory). */
export const VISION_LINEAR_SMALL: VisionLinearTiling = { rowsPerThread: 4, colsPerThread: 4, threadsM: 8, threadsN: 8, tileK: 8 };

/** Candidates the bench times (the chooser's three and variants). */
export const VISION_LINEAR_TILINGS: readonly VisionLinearTiling[] = [
  VISION_LINEAR_LARGE,
  VISION_LINEAR_MEDIUM,
  VISION_LINEAR_SMALL,
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 16, threadsN: 16, tileK: 16 },
  { rowsPerThread: 4, colsPerThread: 8, threadsM: 16, threadsN: 16, tileK: 16 },
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 16, tileK: 32 },
  { rowsPerThread: 4, colsPerThread: 4, threadsM: 16, threadsN: 16, tileK: 32 },
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 8, tileK: 16 },
  { rowsPerThread: 8, colsPerThread: 4, threadsM: 8, threadsN: 16, tileK: 16 },
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 16, tileK: 16, stages: 2 },
  { rowsPerThread: 4, colsPerThread: 4, threadsM: 16, threadsN: 16, tileK: 16, stages: 2 },
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 16, tileK: 32, stages: 2 },
];

/**
 * The first of VISION_LINEAR_LARGE, VISION_LINEAR_MEDIUM, VISION_LINEAR_SMALL that fits `limits` (the shape does not
 * change the choice today; see VISION_LINEAR_LARGE). Throws `gpu-limits-too-low` when none fits.
 */
export function chooseVisionLinearTiling(_shape: VisionLinearShape, limits: VisionLinearLimits): VisionLinearTiling {
  const choice = [VISION_LINEAR_LARGE, VISION_LINEAR_MEDIUM, VISION_LINEAR_SMALL].find((t) => visionLinearTilingFits(t, limits));
  if (!choice) {
    throw new SarashinaError('gpu-limits-too-low', `No vision-linear tiling fits this GPU's workgroup limits (${limits.maxComputeInvocationsPerWorkgroup} invocations, ${limits.maxComputeWorkgroupStorageSize} bytes). Use a GPU/browser with WebGPU's default limits.`, {
      invocations: limits.maxComputeInvocationsPerWorkgroup,
      storageBytes: limits.maxComputeWorkgroupStorageSize,
    });
  }
  return choice;
}

/** Workgroup counts (x over columns, y over rows). */
export function visionLinearWorkgroups(shape: VisionLinearShape, t: VisionLinearTiling): [number, number] {
  const { rows, cols } = visionLinearBlock(t);
  return [Math.ceil(shape.outDim / cols), Math.ceil(shape.rows / rows)];
}

/** `8x8-8x16-k16` (outputs per invocation, invocations, k tile; `-s2` with two stages). */
export function visionLinearTilingName(t: VisionLinearTiling): string {
  return `${t.rowsPerThread}x${t.colsPerThread}-${t.threadsM}x${t.threadsN}-k${t.tileK}${(t.stages ?? 1) === 2 ? '-s2' : ''}`;
}

/** The kernel source for a storage type and tiling (storage prelude, tiling consts, body). */
export function visionLinearKernel(storage: VisionStorage, t: VisionLinearTiling): KernelSource {
  const stages = t.stages ?? 1;
  const consts = `const TM = ${t.rowsPerThread}u;\nconst TN = ${t.colsPerThread}u;\nconst TK = ${t.tileK}u;\nconst WG_M = ${t.threadsM}u;\nconst WG_N = ${t.threadsN}u;\nconst STAGES = ${stages}u;\n`;
  const name = `vision-linear-${storage}-${visionLinearTilingName(t)}`;
  return { name, code: `${VISION_STORAGE_PRELUDE[storage]}\n${consts}\n${visionLinearWgsl}` };
}

/**
 * Records y = epilogue(x · weightᵀ + bias) (shaders/vision-linear.wgsl) into `pass`. Returns the uniform buffer
 * it created; the caller destroys it after submission. Throws `invalid-model` for dimensions that are not
 * multiples of 4, `internal` for buffers smaller than the shape, and `image-too-large` for more row blocks than
 * one dispatch dimension holds.
 */
export function encodeVisionLinear(
  device: GPUDevice,
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionLinearBuffers,
  shape: VisionLinearShape,
  options: VisionLinearOptions = {},
): GPUBuffer {
  const storage = options.storage ?? 'f32';
  const epilogue = options.epilogue ?? 'none';
  const elementBytes = storage === 'f16' ? 2 : 4;
  const { rows, inDim, outDim } = shape;
  if (!(inDim > 0 && outDim > 0 && inDim % 4 === 0 && outDim % 4 === 0)) {
    throw new SarashinaError('invalid-model', `vision-linear: in ${inDim} and out ${outDim} features must be positive multiples of 4. Check vision_config.`, { inDim, outDim });
  }
  const need: [string, GPUBuffer | undefined, number][] = [
    ['x', buffers.x, rows * inDim * elementBytes],
    ['weight', buffers.weight, outDim * inDim * elementBytes],
    ['bias', buffers.bias, outDim * elementBytes],
    ['y', buffers.y, rows * outDim * elementBytes],
  ];
  for (const [name, buffer, sizeBytes] of need) {
    if (buffer && buffer.size < sizeBytes) {
      throw new SarashinaError('internal', `vision-linear: buffer ${name} holds ${buffer.size} bytes but [${rows}, ${inDim}] → ${outDim} needs ${sizeBytes}. Allocate it from the same shape.`, {
        buffer: name,
        sizeBytes: buffer.size,
        neededBytes: sizeBytes,
      });
    }
  }
  const tiling = options.tiling ?? chooseVisionLinearTiling(shape, device.limits);
  const [gx, gy] = visionLinearWorkgroups(shape, tiling);
  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  if (gy > maxGroups || gx > maxGroups) {
    throw new SarashinaError('image-too-large', `vision-linear: ${rows} rows need ${gy} workgroups along one dimension, over this GPU's ${maxGroups}. Send fewer or smaller images.`, { rows });
  }
  const params = uniformBuffer(device, 'vision-linear.params', new Uint32Array([rows, inDim, outDim, 0]));
  if (rows === 0) return params;
  const pipeline = kernels.pipeline(visionLinearKernel(storage, tiling), { EPILOGUE: EPILOGUE_CODE[epilogue], HAS_BIAS: buffers.bias ? 1 : 0 });
  // Without a bias the binding is never read; the weight stands in for it.
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindBuffers(device, pipeline, [params, buffers.x, buffers.weight, buffers.bias ?? buffers.weight, buffers.y]));
  pass.dispatchWorkgroups(gx, gy);
  return params;
}
