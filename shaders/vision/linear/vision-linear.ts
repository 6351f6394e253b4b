/**
 * The vision tower's dense layers (vision-linear.wgsl): y = epilogue(x · Wᵀ + b) over f32 or f16 storage, one
 * descriptor per (storage, tiling), the tiling chosen from the device's workgroup limits.
 */
import { defineKernel, type KernelCache, type KernelDescriptor, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import storageF16Wgsl from '../storage-f16.wgsl?raw';
import storageF32Wgsl from '../storage-f32.wgsl?raw';
import visionActivationWgsl from './vision-activation.wgsl?raw';
import visionLinearWgsl from './vision-linear.wgsl?raw';

/** Element type of activations and weights in storage (f16: packed pairs; arithmetic is f32 either way). */
export type VisionStorage = 'f32' | 'f16';

export const VISION_STORAGES: readonly VisionStorage[] = ['f32', 'f16'];

/** The storage preludes of the vision dense kernels (../storage-*.wgsl). */
/** The activations both dense kernels apply (vision-activation.wgsl). */
export const VISION_ACTIVATION_WGSL = visionActivationWgsl;

export const VISION_STORAGE_PRELUDE: Readonly<Record<VisionStorage, string>> = { f32: storageF32Wgsl, f16: storageF16Wgsl };

/** What follows the matrix product (vision-linear.wgsl's EPILOGUE). */
export type VisionLinearEpilogue = 'none' | 'quick-gelu' | 'gelu' | 'residual';

const EPILOGUE_CODE: Readonly<Record<VisionLinearEpilogue, number>> = { none: 0, 'quick-gelu': 1, gelu: 2, residual: 3 };

/** Register and workgroup blocking of vision-linear.wgsl (its tiling prelude). */
export interface VisionLinearTiling {
  /** Output rows and columns per invocation (multiples of 4). */
  readonly rowsPerThread: number;
  readonly colsPerThread: number;
  /** Invocations along rows and columns. */
  readonly threadsM: number;
  readonly threadsN: number;
  /** k per workgroup-memory tile (a multiple of 4). */
  readonly tileK: number;
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
  /** Default: chooseVisionLinearTiling(shape, device.limits); tests and the bench force others. */
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
  return 4 * t.tileK * (rows + cols);
}

/** Whether `t` is well formed and fits `limits`. */
export function visionLinearTilingFits(t: VisionLinearTiling, limits: VisionLinearLimits): boolean {
  const threads = t.threadsM * t.threadsN;
  const { rows, cols } = visionLinearBlock(t);
  const whole = [t.rowsPerThread, t.colsPerThread, t.tileK].every((v) => Number.isInteger(v) && v >= 4 && v % 4 === 0);
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
 * 64 × 128 blocks of 8 × 8 outputs per invocation (128 invocations, 12 KiB of workgroup memory), on every dense
 * shape of the tower: fastest or within ~5 % of the fastest on the H200, and fastest as one block for the whole
 * tower (bench/BENCH.md "Vision tower").
 */
export const VISION_LINEAR_LARGE: VisionLinearTiling = { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 16, tileK: 16 };
/** 64 × 64 blocks of 4 × 4, for devices whose limits refuse the large block. */
export const VISION_LINEAR_MEDIUM: VisionLinearTiling = { rowsPerThread: 4, colsPerThread: 4, threadsM: 16, threadsN: 16, tileK: 16 };
/** Within any WebGPU device's limits (64 invocations, 2 KiB of workgroup memory). */
export const VISION_LINEAR_SMALL: VisionLinearTiling = { rowsPerThread: 4, colsPerThread: 4, threadsM: 8, threadsN: 8, tileK: 8 };

/** The chooser's tilings, in order of preference (the variants the engine compiles). */
export const VISION_LINEAR_CHOICES: readonly VisionLinearTiling[] = [VISION_LINEAR_LARGE, VISION_LINEAR_MEDIUM, VISION_LINEAR_SMALL];

/**
 * The first of VISION_LINEAR_CHOICES that fits `limits` (the shape does not change the choice today; see
 * VISION_LINEAR_LARGE). Throws `gpu-limits-too-low` when none fits.
 */
export function chooseVisionLinearTiling(_shape: VisionLinearShape, limits: VisionLinearLimits): VisionLinearTiling {
  const choice = VISION_LINEAR_CHOICES.find((t) => visionLinearTilingFits(t, limits));
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

/** `8x8-8x16-k16` (outputs per invocation, invocations, k tile). */
export function visionLinearTilingName(t: VisionLinearTiling): string {
  return `${t.rowsPerThread}x${t.colsPerThread}-${t.threadsM}x${t.threadsN}-k${t.tileK}`;
}

/** vision-linear.wgsl's Params (one struct shared by every variant). */
const PARAMS_FIELDS = { rows: 'u32', in_dim: 'u32', out_dim: 'u32' } as const;
const PARAMS = new UniformStruct('Params', PARAMS_FIELDS);
type VisionLinearDescriptor = KernelDescriptor<typeof PARAMS_FIELDS, 'x' | 'w' | 'bias' | 'y'>;

const descriptors = new Map<string, VisionLinearDescriptor>();

/** The descriptor for a storage type and tiling (storage prelude, tiling consts, body); one object per variant. */
export function visionLinearKernel(storage: VisionStorage, t: VisionLinearTiling): VisionLinearDescriptor {
  const name = `vision-linear/${storage}/${visionLinearTilingName(t)}`;
  let kernel = descriptors.get(name);
  if (!kernel) {
    const consts = `const TM = ${t.rowsPerThread}u;\nconst TN = ${t.colsPerThread}u;\nconst TK = ${t.tileK}u;\nconst WG_M = ${t.threadsM}u;\nconst WG_N = ${t.threadsN}u;\n`;
    kernel = defineKernel({
      name,
      code: `${VISION_STORAGE_PRELUDE[storage]}\n${consts}\n${visionActivationWgsl}\n${visionLinearWgsl}`,
      constants: ['EPILOGUE', 'HAS_BIAS'],
      params: PARAMS,
      bindings: ['x', 'w', 'bias', 'y'],
    });
    descriptors.set(name, kernel);
  }
  return kernel;
}

/** Refuses a shape the dense kernels cannot run and buffers smaller than the shape needs (both kernels' contract). */
export function checkVisionLinearCall(buffers: VisionLinearBuffers, shape: VisionLinearShape, storage: VisionStorage): void {
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
}

/**
 * Records y = epilogue(x · weightᵀ + bias) into `pass` and returns the dispatch (the caller destroys it after
 * submission), or null for zero rows (nothing recorded). Throws `invalid-model` for dimensions that are not
 * multiples of 4, `internal` for buffers smaller than the shape, and `image-too-large` for more row blocks than
 * one dispatch dimension holds.
 */
export function encodeVisionLinear(
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionLinearBuffers,
  shape: VisionLinearShape,
  options: VisionLinearOptions = {},
): KernelDispatch | null {
  const { limits } = kernels.device;
  const storage = options.storage ?? 'f32';
  const epilogue = options.epilogue ?? 'none';
  checkVisionLinearCall(buffers, shape, storage);
  const { rows, inDim, outDim } = shape;
  const tiling = options.tiling ?? chooseVisionLinearTiling(shape, limits);
  const [gx, gy] = visionLinearWorkgroups(shape, tiling);
  const maxGroups = limits.maxComputeWorkgroupsPerDimension;
  if (gy > maxGroups || gx > maxGroups) {
    throw new SarashinaError('image-too-large', `vision-linear: ${rows} rows need ${gy} workgroups along one dimension, over this GPU's ${maxGroups}. Send fewer or smaller images.`, { rows });
  }
  if (rows === 0) return null;
  return kernels.record(pass, visionLinearKernel(storage, tiling), {
    constants: { EPILOGUE: EPILOGUE_CODE[epilogue], HAS_BIAS: buffers.bias ? 1 : 0 },
    params: { rows, in_dim: inDim, out_dim: outDim },
    // Without a bias the binding is never read, but the layout still has it: the weight stands in.
    buffers: { x: buffers.x, w: buffers.weight, bias: buffers.bias ?? buffers.weight, y: buffers.y },
    workgroups: [gx, gy, 1],
  });
}
