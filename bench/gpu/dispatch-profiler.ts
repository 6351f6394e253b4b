/**
 * Bench helper: GPU time per dispatch, by pipeline label, with timestamp queries — for code that records many
 * dispatches into one compute pass (the decode step) and that we do not want to change for profiling.
 *
 * While installed, command encoders created on the device hand out a stand-in compute pass that remembers the
 * pipeline and bind groups and turns every dispatch into its own real pass with a timestamp at its start and end.
 * Splitting passes adds a barrier per dispatch, so the sum is an upper bound of the fused pass's time; the split
 * shows which kernels the time goes to. Needs the device feature 'timestamp-query'. Dawn may round timestamps
 * (its timestamp_quantization toggle); results are reported as measured.
 */

export interface DispatchTime {
  readonly label: string;
  readonly count: number;
  readonly totalMs: number;
}

interface PassState {
  pipeline: GPUComputePipeline | null;
  readonly groups: Map<number, { group: GPUBindGroup | null; offsets: readonly number[] }>;
}

export class DispatchProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;
  private labels: string[] = [];
  private untimed = 0;
  private original: GPUDevice['createCommandEncoder'] | null = null;

  constructor(
    private readonly device: GPUDevice,
    /** Timed dispatches at most (two queries each; WebGPU allows 4096 queries per set). */
    private readonly maxDispatches = 2048,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * maxDispatches, label: 'profiler' });
    this.resolve = device.createBuffer({ size: 16 * maxDispatches, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'profiler.resolve' });
    this.readback = device.createBuffer({ size: 16 * maxDispatches, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'profiler.readback' });
  }

  /** Starts recording every dispatch encoded on the device from now on. */
  install(): void {
    if (this.original) return;
    const device = this.device;
    const original = device.createCommandEncoder.bind(device);
    this.original = device.createCommandEncoder;
    this.labels = [];
    this.untimed = 0;
    device.createCommandEncoder = (descriptor?: GPUCommandEncoderDescriptor): GPUCommandEncoder => this.wrapEncoder(original(descriptor));
  }

  /** Stops recording; returns GPU time per pipeline label (ms), largest first, once the GPU is done. */
  async collect(): Promise<{ dispatches: number; untimed: number; totalMs: number; byLabel: DispatchTime[] }> {
    if (this.original) this.device.createCommandEncoder = this.original;
    this.original = null;
    const n = this.labels.length;
    if (n === 0) return { dispatches: 0, untimed: this.untimed, totalMs: 0, byLabel: [] };
    const encoder = this.device.createCommandEncoder();
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    encoder.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16 * n);
    this.device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, 16 * n);
    const stamps = new BigUint64Array(this.readback.getMappedRange(0, 16 * n).slice(0));
    this.readback.unmap();
    const byLabel = new Map<string, { count: number; ns: number }>();
    let totalNs = 0;
    for (let i = 0; i < n; i++) {
      const ns = Number((stamps[2 * i + 1] ?? 0n) - (stamps[2 * i] ?? 0n));
      const entry = byLabel.get(this.labels[i] ?? '?') ?? { count: 0, ns: 0 };
      entry.count++;
      entry.ns += ns;
      byLabel.set(this.labels[i] ?? '?', entry);
      totalNs += ns;
    }
    return {
      dispatches: n,
      untimed: this.untimed,
      totalMs: totalNs / 1e6,
      byLabel: [...byLabel.entries()].map(([label, e]) => ({ label, count: e.count, totalMs: e.ns / 1e6 })).sort((a, b) => b.totalMs - a.totalMs),
    };
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
    this.readback.destroy();
  }

  private wrapEncoder(encoder: GPUCommandEncoder): GPUCommandEncoder {
    return new Proxy(encoder, {
      get: (target, prop) => {
        if (prop === 'beginComputePass') return (descriptor?: GPUComputePassDescriptor) => this.standInPass(target, descriptor);
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private standInPass(encoder: GPUCommandEncoder, descriptor: GPUComputePassDescriptor | undefined): GPUComputePassEncoder {
    const state: PassState = { pipeline: null, groups: new Map() };
    const dispatch = (record: (pass: GPUComputePassEncoder) => void): void => {
      const index = this.labels.length;
      // Past the query set's capacity, dispatches still run (in passes of their own) but are not timed.
      const timed = index < this.maxDispatches;
      if (timed) this.labels.push(state.pipeline?.label || descriptor?.label || 'unlabelled (ORT)');
      else this.untimed++;
      const pass = encoder.beginComputePass({
        ...(descriptor?.label ? { label: descriptor.label } : {}),
        ...(timed ? { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 } } : {}),
      });
      if (state.pipeline) pass.setPipeline(state.pipeline);
      for (const [i, g] of state.groups) pass.setBindGroup(i, g.group, g.offsets);
      record(pass);
      pass.end();
    };
    const standIn = {
      label: descriptor?.label ?? '',
      setPipeline: (pipeline: GPUComputePipeline) => {
        state.pipeline = pipeline;
      },
      setBindGroup: (index: number, group: GPUBindGroup | null, offsets?: Iterable<number>) => {
        state.groups.set(index, { group, offsets: offsets ? [...offsets] : [] });
      },
      dispatchWorkgroups: (x: number, y?: number, z?: number) => dispatch((p) => p.dispatchWorkgroups(x, y, z)),
      dispatchWorkgroupsIndirect: (buffer: GPUBuffer, offset: number) => dispatch((p) => p.dispatchWorkgroupsIndirect(buffer, offset)),
      end: () => undefined,
      pushDebugGroup: () => undefined,
      popDebugGroup: () => undefined,
      insertDebugMarker: () => undefined,
    };
    return standIn as unknown as GPUComputePassEncoder;
  }
}
