import visionRopeWgsl from '../../shaders/vision-rope.wgsl?raw';
import { bindBuffers, dispatchSize, type KernelCache, type KernelSource, uniformBuffer } from '../gpu/kernel';

export const VISION_ROPE: KernelSource = { name: 'vision-rope', code: visionRopeWgsl };

export interface VisionRopeShape {
  readonly rows: number;
  readonly heads: number;
  readonly headDim: number;
  /** f32 elements between consecutive rows of x (heads · headDim for a packed q or k). */
  readonly rowStride?: number;
}

const WORKGROUP_SIZE = 64;

/**
 * Records the in-place 2-D rotary rotation of `x` (see shaders/vision-rope.wgsl) into `pass`.
 * Returns the uniform buffer it created; the caller destroys it after submission.
 */
export function encodeVisionRope(
  device: GPUDevice,
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: { readonly x: GPUBuffer; readonly cos: GPUBuffer; readonly sin: GPUBuffer },
  shape: VisionRopeShape,
): GPUBuffer {
  if (shape.headDim % 2 !== 0) throw new RangeError(`vision-rope: headDim must be even, got ${shape.headDim}`);
  const rowStride = shape.rowStride ?? shape.heads * shape.headDim;
  const params = uniformBuffer(device, 'vision-rope.params', new Uint32Array([shape.rows, shape.heads, shape.headDim, rowStride]));
  const pipeline = kernels.pipeline(VISION_ROPE, { WORKGROUP_SIZE });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindBuffers(device, pipeline, [params, buffers.x, buffers.cos, buffers.sin]));
  const invocations = shape.rows * shape.heads * (shape.headDim / 2);
  const [x, y] = dispatchSize(Math.ceil(invocations / WORKGROUP_SIZE), device.limits.maxComputeWorkgroupsPerDimension);
  pass.dispatchWorkgroups(x, y);
  return params;
}

/** Plain-TS reference of the same rotation (f64 arithmetic), returning a new array. */
export function visionRopeReference(x: Float32Array, cos: Float32Array, sin: Float32Array, shape: VisionRopeShape): Float32Array {
  const out = new Float32Array(x);
  const half = shape.headDim / 2;
  const rowStride = shape.rowStride ?? shape.heads * shape.headDim;
  for (let r = 0; r < shape.rows; r++) {
    for (let h = 0; h < shape.heads; h++) {
      const base = r * rowStride + h * shape.headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[r * half + i] ?? 0;
        const s = sin[r * half + i] ?? 0;
        const a = x[base + i] ?? 0;
        const b = x[base + i + half] ?? 0;
        out[base + i] = a * c - b * s;
        out[base + i + half] = b * c + a * s;
      }
    }
  }
  return out;
}
