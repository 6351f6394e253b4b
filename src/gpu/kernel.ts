/**
 * Compute-kernel launch: one pipeline per (kernel, variant), cached. A variant is the kernel's WGSL
 * plus its `override` constants; per-call shapes go in a uniform buffer, never into the source.
 */

/** A kernel as loaded from `shaders/<name>.wgsl`. */
export interface KernelSource {
  readonly name: string;
  readonly code: string;
  readonly entryPoint?: string;
}

/** Override constants that select a variant (workgroup and tile sizes). */
export type KernelConstants = Readonly<Record<string, number>>;

export class KernelCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();

  constructor(private readonly device: GPUDevice) {}

  /** The pipeline for this kernel and variant, compiled once. Its label is the variant key. */
  pipeline(kernel: KernelSource, constants: KernelConstants = {}): GPUComputePipeline {
    const key = variantKey(kernel, constants);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      // Keyed by source: two kernels may share a name but never a module with different code.
      let module = this.modules.get(kernel.code);
      if (!module) {
        module = this.device.createShaderModule({ label: kernel.name, code: kernel.code });
        this.modules.set(kernel.code, module);
      }
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants: { ...constants } },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

/** `name:entryPoint{K=v,…}` with keys sorted: the cache key and the pipeline label. */
export function variantKey(kernel: KernelSource, constants: KernelConstants): string {
  const parts = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`);
  const base = kernel.entryPoint && kernel.entryPoint !== 'main' ? `${kernel.name}:${kernel.entryPoint}` : kernel.name;
  return parts.length ? `${base}{${parts.join(',')}}` : base;
}

/**
 * Splits a 1-D count of workgroups over x and y so neither exceeds the device limit
 * (kernels rebuild the linear index as `wid.x + wid.y * num_workgroups.x`).
 */
export function dispatchSize(workgroups: number, maxPerDimension: number): [number, number] {
  if (workgroups <= maxPerDimension) return [Math.max(1, workgroups), 1];
  const y = Math.ceil(workgroups / maxPerDimension);
  return [Math.ceil(workgroups / y), y];
}

/** Creates a uniform buffer from 32-bit words (u32 by default; pass a Float32Array for f32 fields). */
export function uniformBuffer(device: GPUDevice, label: string, words: Uint32Array | Float32Array): GPUBuffer {
  const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
  const buffer = device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, words.buffer, words.byteOffset, words.byteLength);
  return buffer;
}

/** Binds buffers to @group(0) @binding(0..n-1) in order. */
export function bindBuffers(device: GPUDevice, pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    label: pipeline.label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}
