/**
 * A dispatch prepared once and recorded many times: pipeline, bind group and the uniform buffers it
 * owns. The decode loop records these every step and allocates nothing (STYLE.md habit 5).
 */
import { bindBuffers, dispatchSize, type KernelCache, type KernelConstants, type KernelSource, uniformBuffer } from '../../gpu/kernel';

export type Workgroups = readonly [number, number, number];

export class PreparedKernel {
  private destroyed = false;

  constructor(
    readonly pipeline: GPUComputePipeline,
    readonly bindGroup: GPUBindGroup,
    /** Default workgroup counts (x, y, z) for `record()`. */
    readonly workgroups: Workgroups,
    /** Uniform buffers created for this dispatch and destroyed with it. */
    private readonly owned: readonly GPUBuffer[],
  ) {}

  /** Records the dispatch into `pass` (with `workgroups` overriding the default counts). */
  record(pass: GPUComputePassEncoder, workgroups: Workgroups = this.workgroups): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
  }

  /** Destroys the uniform buffers this dispatch owns (never the caller's buffers). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.owned) b.destroy();
  }
}

export interface PrepareOptions {
  readonly kernel: KernelSource;
  readonly constants?: KernelConstants;
  /** Uniform words written once into a buffer bound at @binding(0); omitted when the kernel has none. */
  readonly params?: Uint32Array;
  /** Buffers bound after the params, at @binding(1..), in order (or from 0 when there are no params). */
  readonly buffers: readonly GPUBuffer[];
  /** Linear workgroup count, split over x and y when it exceeds the device limit. */
  readonly workgroupCount: number;
}

/** Compiles (or reuses) the pipeline, writes the params, binds the buffers. */
export function prepareKernel(device: GPUDevice, kernels: KernelCache, options: PrepareOptions): PreparedKernel {
  const pipeline = kernels.pipeline(options.kernel, options.constants ?? {});
  const owned: GPUBuffer[] = [];
  const bound: GPUBuffer[] = [];
  if (options.params) {
    const params = uniformBuffer(device, `${pipeline.label}.params`, options.params);
    owned.push(params);
    bound.push(params);
  }
  bound.push(...options.buffers);
  const [x, y] = dispatchSize(options.workgroupCount, device.limits.maxComputeWorkgroupsPerDimension);
  return new PreparedKernel(pipeline, bindBuffers(device, pipeline, bound), [x, y, 1], owned);
}

/** Packs a record of u32 and f32 fields into uniform words (f32 fields bit-cast). */
export function packWords(fields: readonly (readonly [kind: 'u32' | 'f32', value: number])[]): Uint32Array {
  const words = new Uint32Array(Math.max(4, Math.ceil(fields.length / 4) * 4));
  const floats = new Float32Array(words.buffer);
  fields.forEach(([kind, value], i) => {
    if (kind === 'u32') words[i] = value >>> 0;
    else floats[i] = value;
  });
  return words;
}

/** Splits a linear workgroup count the same way `prepareKernel` does (for counts that change per step). */
export function linearWorkgroups(device: GPUDevice, count: number): Workgroups {
  const [x, y] = dispatchSize(count, device.limits.maxComputeWorkgroupsPerDimension);
  return [x, y, 1];
}
