/**
 * The one way to declare and launch a compute kernel. A `KernelDescriptor` says once what a WGSL file
 * expects: its source, entry points, `override` constants, the `Params` uniform struct at @binding(0)
 * (typed, packed by field name) and the names of its other bindings in @binding order. `KernelCache`
 * compiles one pipeline per (kernel, entry point, constants) and prepares `KernelDispatch`es from
 * descriptors, so decoder, vision, sampler and embedding kernels are all recorded the same way.
 * Mirrors of WGSL (struct fields, binding names) keep the WGSL spelling; `kernel-descriptors.test.ts`
 * checks every descriptor against its WGSL text.
 */

/** Scalar types a uniform struct may hold (each 4 bytes, so offsets are 4 · index). */
export type UniformScalar = 'u32' | 'i32' | 'f32';
export type UniformFields = Readonly<Record<string, UniformScalar>>;
/** One number per field of a uniform struct. */
export type UniformValues<F extends UniformFields> = { readonly [K in keyof F]: number };

/** A WGSL uniform struct of scalars, mirrored field by field (order = declaration order). */
export class UniformStruct<F extends UniformFields = UniformFields> {
  /** Fields with their byte offsets. */
  readonly layout: readonly { readonly name: keyof F & string; readonly type: UniformScalar; readonly offsetBytes: number }[];
  /** Bytes of the uniform buffer (a multiple of 16). */
  readonly sizeBytes: number;

  constructor(
    /** The WGSL struct's name (`Params`). */
    readonly wgslName: string,
    fields: F,
  ) {
    this.layout = Object.entries(fields).map(([name, type], i) => ({ name, type, offsetBytes: 4 * i }));
    this.sizeBytes = Math.max(16, Math.ceil((4 * this.layout.length) / 16) * 16);
  }

  /** Packs `values` into 32-bit words (into `words` when given, e.g. a per-step buffer reused). */
  write(values: UniformValues<F>, words: Uint32Array = new Uint32Array(this.sizeBytes / 4)): Uint32Array {
    const ints = new Int32Array(words.buffer, words.byteOffset, words.length);
    const floats = new Float32Array(words.buffer, words.byteOffset, words.length);
    for (const { name, type, offsetBytes } of this.layout) {
      const v = values[name];
      const i = offsetBytes / 4;
      if (type === 'f32') floats[i] = v;
      else if (type === 'i32') ints[i] = v;
      else words[i] = v >>> 0;
    }
    return words;
  }
}

/** A kernel as declared once next to its WGSL. */
export interface KernelDescriptor<F extends UniformFields = UniformFields, B extends string = string> {
  /** Stable name (pipeline labels, cache keys). */
  readonly name: string;
  /** The WGSL source (with its preludes, when a kernel has storage variants). */
  readonly code: string;
  /** Entry points; the first is the default. */
  readonly entryPoints: readonly string[];
  /** Names of the `override` constants a variant may set. */
  readonly constants: readonly string[];
  /** The uniform struct bound as `params` at @binding(0), or null when the kernel has none. */
  readonly params: UniformStruct<F> | null;
  /** WGSL names of the other bindings, at @binding(1…) (from 0 without params). */
  readonly bindings: readonly B[];
}

/** Declares a kernel (see KernelDescriptor); entry points default to ['main']. */
export function defineKernel<F extends UniformFields, const B extends string>(d: {
  readonly name: string;
  readonly code: string;
  readonly entryPoints?: readonly string[];
  readonly constants?: readonly string[];
  readonly params: UniformStruct<F> | null;
  readonly bindings: readonly B[];
}): KernelDescriptor<F, B> {
  return { ...d, entryPoints: d.entryPoints ?? ['main'], constants: d.constants ?? [] };
}

/** Override constants that select a variant (workgroup and tile sizes, epilogue switches). */
export type KernelConstants = Readonly<Record<string, number>>;

export type Workgroups = readonly [number, number, number];

/** How one dispatch of a descriptor is prepared. */
export interface DispatchSpec<F extends UniformFields, B extends string> {
  /** Default: the descriptor's first entry point. */
  readonly entryPoint?: string;
  readonly constants?: KernelConstants;
  /** Written once into a uniform buffer the dispatch owns; required when the kernel has params. */
  readonly params?: UniformValues<F>;
  /** Buffers by binding name; a binding the entry point does not use is left out. */
  readonly buffers: { readonly [K in B]?: GPUBuffer };
  /** A linear workgroup count (split over x and y within the device limit) or explicit (x, y, z). */
  readonly workgroups: number | Workgroups;
}

/**
 * A dispatch prepared once and recorded any number of times: pipeline, bind group and the uniform buffer it
 * owns. The decode loop records these every step and allocates nothing (STYLE.md habit 5).
 */
export class KernelDispatch {
  private destroyed = false;

  constructor(
    readonly pipeline: GPUComputePipeline,
    readonly bindGroup: GPUBindGroup,
    /** Default workgroup counts for `record()`. */
    readonly workgroups: Workgroups,
    private readonly params: GPUBuffer | null,
  ) {}

  /** Records the dispatch into `pass` (with `workgroups` overriding the default counts). */
  record(pass: GPUComputePassEncoder, workgroups: Workgroups = this.workgroups): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
  }

  /** Frees the uniform buffer this dispatch owns (never the caller's buffers). Safe right after submit. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.params?.destroy();
  }
}

export class KernelCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();

  constructor(readonly device: GPUDevice) {}

  /** The pipeline for this kernel, entry point and constants, compiled once. Its label is the variant key. */
  pipeline(kernel: KernelDescriptor<UniformFields, string>, options: { entryPoint?: string; constants?: KernelConstants } = {}): GPUComputePipeline {
    const entryPoint = options.entryPoint ?? kernel.entryPoints[0] ?? 'main';
    const constants = options.constants ?? {};
    if (!kernel.entryPoints.includes(entryPoint)) throw new RangeError(`kernel ${kernel.name} has no entry point ${entryPoint}`);
    for (const c of Object.keys(constants)) if (!kernel.constants.includes(c)) throw new RangeError(`kernel ${kernel.name} has no override constant ${c}`);
    const key = variantKey(kernel.name, entryPoint === kernel.entryPoints[0] ? undefined : entryPoint, constants);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      // Keyed by source: kernels composed from preludes share a name prefix but never a module.
      let module = this.modules.get(kernel.code);
      if (!module) {
        module = this.device.createShaderModule({ label: kernel.name, code: kernel.code });
        this.modules.set(kernel.code, module);
      }
      pipeline = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint, constants: { ...constants } } });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Compiles (or reuses) the pipeline, writes the params into a new uniform buffer, binds the buffers by name. */
  prepare<F extends UniformFields, B extends string>(kernel: KernelDescriptor<F, B>, spec: DispatchSpec<F, B>): KernelDispatch {
    const pipeline = this.pipeline(kernel as unknown as KernelDescriptor<UniformFields, string>, spec);
    const entries: GPUBindGroupEntry[] = [];
    let params: GPUBuffer | null = null;
    if (kernel.params) {
      if (!spec.params) throw new RangeError(`kernel ${kernel.name} needs params`);
      params = uniformBuffer(this.device, `${pipeline.label}.params`, kernel.params.write(spec.params));
      entries.push({ binding: 0, resource: { buffer: params } });
    }
    const first = kernel.params ? 1 : 0;
    kernel.bindings.forEach((name, i) => {
      const buffer = spec.buffers[name];
      if (buffer) entries.push({ binding: first + i, resource: { buffer } });
    });
    const bindGroup = this.device.createBindGroup({ label: pipeline.label, layout: pipeline.getBindGroupLayout(0), entries });
    const workgroups = typeof spec.workgroups === 'number' ? linearWorkgroups(this.device, spec.workgroups) : spec.workgroups;
    return new KernelDispatch(pipeline, bindGroup, workgroups, params);
  }

  /** Prepares and records in one go, for per-call work (the vision tower); destroy the dispatch after submit. */
  record<F extends UniformFields, B extends string>(pass: GPUComputePassEncoder, kernel: KernelDescriptor<F, B>, spec: DispatchSpec<F, B>): KernelDispatch {
    const dispatch = this.prepare(kernel, spec);
    dispatch.record(pass);
    return dispatch;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

/** `name:entryPoint{K=v,…}` with keys sorted (entry point omitted for the default): cache key and pipeline label. */
export function variantKey(name: string, entryPoint: string | undefined, constants: KernelConstants): string {
  const parts = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`);
  const base = entryPoint ? `${name}:${entryPoint}` : name;
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

/** A linear workgroup count as (x, y, 1) within the device limit (for counts that change per step). */
export function linearWorkgroups(device: GPUDevice, count: number): Workgroups {
  const [x, y] = dispatchSize(count, device.limits.maxComputeWorkgroupsPerDimension);
  return [x, y, 1];
}

/** Creates a uniform buffer holding `words` (size rounded up to 16 bytes). */
export function uniformBuffer(device: GPUDevice, label: string, words: Uint32Array): GPUBuffer {
  const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
  const buffer = device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, words.buffer, words.byteOffset, words.byteLength);
  return buffer;
}
