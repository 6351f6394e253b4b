/**
 * The one place that requests a WebGPU adapter and device. Everything else (our kernels and
 * onnxruntime-web) receives the `GpuContext` and shares its device.
 */
import { SarashinaError } from '../protocol/errors';

/** What the engine needs to know about an adapter to choose kernels and a precision variant. */
export interface GpuCapabilities {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
  readonly shaderF16: boolean;
  readonly subgroups: boolean;
  readonly timestampQuery: boolean;
  /** Subgroup sizes the adapter reports (SwiftShader: 4, NVIDIA: 32). 0 when unknown. */
  readonly subgroupMinSize: number;
  readonly subgroupMaxSize: number;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

export interface GpuContextOptions {
  /** The `GPU` to use; defaults to `navigator.gpu`. Node passes Dawn's (see node-webgpu.ts). */
  readonly gpu?: GPU;
  readonly powerPreference?: GPUPowerPreference;
}

/** Optional features we use when present; onnxruntime-web also asks for these on its own devices. */
const WANTED_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query', 'subgroup-size-control' as GPUFeatureName];

/** Limits raised to the adapter's maximum: weights and KV caches are large buffers. */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

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

  /** Requests an adapter and a device with our optional features and the adapter's maximum limits. */
  static async create(options: GpuContextOptions = {}): Promise<GpuContext> {
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
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'sarashina' });
    return new GpuContext(gpu, adapter, device, describe(adapter, device));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.destroy();
  }
}

function describe(adapter: GPUAdapter, device: GPUDevice): GpuCapabilities {
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean };
  const has = (f: string): boolean => device.features.has(f);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? false,
    shaderF16: has('shader-f16'),
    subgroups: has('subgroups'),
    timestampQuery: has('timestamp-query'),
    subgroupMinSize: info.subgroupMinSize ?? 0,
    subgroupMaxSize: info.subgroupMaxSize ?? 0,
    maxBufferSize: device.limits.maxBufferSize,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
  };
}
