/**
 * The one place that requests a WebGPU adapter and device. Everything else (our kernels and
 * onnxruntime-web) receives the `GpuContext` and shares its device.
 */
import { SarashinaError } from '../protocol/errors';

/** One entry of `adapter.info.subgroupMatrixConfigs` (Dawn's `chromium-experimental-subgroup-matrix`). */
export interface SubgroupMatrixConfig {
  /** Element type of the left and right matrices: 'f16', 'f32', 'u8', 'i8', … */
  readonly componentType: string;
  /** Element type of the result (accumulator) matrix. */
  readonly resultComponentType: string;
  /** Left is M × K, right K × N, result M × N. */
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/** What the engine needs to know about an adapter to choose kernels and a precision variant. */
export interface GpuCapabilities {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
  readonly shaderF16: boolean;
  readonly subgroups: boolean;
  readonly timestampQuery: boolean;
  /** `chromium-experimental-subgroup-matrix` (Dawn with allow_unsafe_apis): WGSL subgroup matrices (tensor cores). */
  readonly subgroupMatrix: boolean;
  /** The adapter's matrix shapes and types for it (empty without the feature). */
  readonly subgroupMatrixConfigs: readonly SubgroupMatrixConfig[];
  /** Subgroup sizes the adapter reports (SwiftShader: 4, NVIDIA: 32). 0 when unknown. */
  readonly subgroupMinSize: number;
  readonly subgroupMaxSize: number;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}


export interface GpuAdapterOptions {
  /** The `GPU` to use; defaults to `navigator.gpu`. Node passes Dawn's (see node-webgpu.ts). */
  readonly gpu?: GPU;
  readonly powerPreference?: GPUPowerPreference;
}

/** An adapter before its device: what it offers (its capabilities carry the adapter's maximum limits). */
export interface GpuAdapterChoice {
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly capabilities: GpuCapabilities;
}

/** The buffer-size limits a device is requested with (bytes). */
export interface GpuBufferLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

export interface GpuContextOptions extends GpuAdapterOptions {
  /** An adapter already requested (GpuContext.requestAdapter), e.g. one whose capabilities planned the model. */
  readonly adapter?: GpuAdapterChoice;
  /**
   * The buffer-size limits to request (what the model's plan needs: src/model/device-limits.ts); default the
   * adapter's maxima. Over the adapter's → 'gpu-limits-too-low'.
   */
  readonly bufferLimits?: GpuBufferLimits;
}

/** Optional features we use when present; onnxruntime-web also asks for these on its own devices. */
const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;
const WANTED_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query', 'subgroup-size-control' as GPUFeatureName, SUBGROUP_MATRIX];

/**
 * Limits raised to the adapter's maximum: kernel variants are chosen from them (they bound workgroups, not memory).
 * The buffer-size limits (BUFFER_LIMITS) are raised to what the caller asks for, by default also the maximum.
 */
const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

const BUFFER_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize'] as const;

export class GpuContext {
  readonly lost: Promise<SarashinaError>;
  private disposed = false;

  private constructor(
    /** Kept referenced: Dawn for Node stops completing work if its GPU object is garbage-collected. */
    readonly gpu: GPU,
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly capabilities: GpuCapabilities,
  ) {
    this.lost = device.lost.then(
      (info) =>
        new SarashinaError(
          'device-lost',
          `The GPU device was lost (${info.reason}: ${info.message || 'no message'}). ` +
            'Recreate the engine; if it keeps happening, close other GPU-heavy tabs or lower the context and pixel budgets.',
          { reason: info.reason },
        ),
    );
  }

  /** Requests an adapter; its capabilities are what it offers (limits at its maxima). */
  static async requestAdapter(options: GpuAdapterOptions = {}): Promise<GpuAdapterChoice> {
    const gpu = options.gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
    if (!gpu) {
      throw new SarashinaError(
        'webgpu-unavailable',
        'WebGPU is not available here (navigator.gpu is undefined). Use a recent Chrome or Edge (113+), ' +
          'or Firefox/Safari with WebGPU enabled, on a page served over https or http://localhost.',
      );
    }
    const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
    if (!adapter) {
      throw new SarashinaError(
        'webgpu-unavailable',
        'The browser has WebGPU but returned no GPU adapter. Update the GPU driver, check chrome://gpu, ' +
          'or enable the flag #enable-unsafe-webgpu on Linux.',
      );
    }
    return { gpu, adapter, capabilities: describe(adapter, adapter.features, adapter.limits) };
  }

  /**
   * Requests a device (on `options.adapter`, or a new adapter) with our optional features, the adapter's maximum
   * compute limits and `options.bufferLimits` (default: the adapter's maxima).
   */
  static async create(options: GpuContextOptions = {}): Promise<GpuContext> {
    const { gpu, adapter } = options.adapter ?? (await GpuContext.requestAdapter(options));
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
    for (const name of BUFFER_LIMITS) {
      const wanted = options.bufferLimits?.[name] ?? adapter.limits[name];
      if (wanted > adapter.limits[name]) {
        throw new SarashinaError('gpu-limits-too-low', `The model needs ${name} ${wanted} bytes, but this GPU allows ${adapter.limits[name]}. Use a smaller model or a GPU/browser with higher limits.`, {
          limit: name,
          neededBytes: wanted,
          limitBytes: adapter.limits[name],
        });
      }
      requiredLimits[name] = wanted;
    }
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'sarashina' });
    return new GpuContext(gpu, adapter, device, describe(adapter, device.features, device.limits));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.destroy();
  }
}

/** Capabilities from the adapter's info and `features` / `limits` (the device's, or the adapter's before a device). */
function describe(adapter: GPUAdapter, features: GPUSupportedFeatures, limits: GPUSupportedLimits): GpuCapabilities {
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean; subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig> };
  const has = (f: string): boolean => features.has(f) && WANTED_FEATURES.includes(f as GPUFeatureName);
  const subgroupMatrix = has(SUBGROUP_MATRIX);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? false,
    shaderF16: has('shader-f16'),
    subgroups: has('subgroups'),
    timestampQuery: has('timestamp-query'),
    subgroupMatrix,
    subgroupMinSize: info.subgroupMinSize ?? 0,
    subgroupMaxSize: info.subgroupMaxSize ?? 0,
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    // Copied field by field: Dawn's config objects are wrappers whose fields are getters.
    subgroupMatrixConfigs: subgroupMatrix ? [...(info.subgroupMatrixConfigs ?? [])].map(({ componentType, resultComponentType, M, N, K }) => ({ componentType, resultComponentType, M, N, K })) : [],
  };
}
