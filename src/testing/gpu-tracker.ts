/**
 * Counts what a GPUDevice allocates, for resource tests and benchmarks: live buffers (and their bytes), the
 * peak of live bytes, buffers and bind groups created. It wraps the device's own createBuffer/createBindGroup,
 * so allocations by onnxruntime-web on the same device are counted too.
 */
export interface GpuTracker {
  /** Buffers created and not yet destroyed. */
  readonly live: ReadonlySet<GPUBuffer>;
  readonly created: { buffers: number; bindGroups: number };
  /** Bytes of the live buffers. */
  liveBytes(): number;
  /** The largest liveBytes() seen since tracking began or the last resetPeak(). */
  peakBytes(): number;
  resetPeak(): void;
  /** Puts the device's methods back (buffers created meanwhile stay counted until destroyed). */
  restore(): void;
}

export function trackGpu(device: GPUDevice): GpuTracker {
  const live = new Set<GPUBuffer>();
  const created = { buffers: 0, bindGroups: 0 };
  let bytes = 0;
  let peak = 0;
  const createBuffer = device.createBuffer.bind(device);
  const createBindGroup = device.createBindGroup.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = createBuffer(descriptor);
    created.buffers++;
    live.add(buffer);
    bytes += buffer.size;
    peak = Math.max(peak, bytes);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = (): undefined => {
      if (live.delete(buffer)) bytes -= buffer.size;
      return destroy();
    };
    return buffer;
  };
  device.createBindGroup = (descriptor: GPUBindGroupDescriptor): GPUBindGroup => {
    created.bindGroups++;
    return createBindGroup(descriptor);
  };
  return {
    live,
    created,
    liveBytes: () => bytes,
    peakBytes: () => peak,
    resetPeak: () => {
      peak = bytes;
    },
    restore: () => {
      device.createBuffer = createBuffer;
      device.createBindGroup = createBindGroup;
    },
  };
}
