/**
 * The interop the engine rests on, as a runnable check: our WGSL kernel writes an input on the shared
 * device, onnxruntime-web consumes it (and a weight we own) through `Tensor.fromGpuBuffer`, leaves its
 * output on the GPU, and a second WGSL kernel reads that output. Used by tests and the demo page.
 */
import { prepareFillRamp, prepareScaleShift } from '../../shaders/interop/interop-kernels';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../gpu/gpu-buffers';
import type { GpuContext } from '../gpu/gpu-context';
import { KernelCache, type KernelDispatch } from '../gpu/kernel';
import { encodeOnnxModel } from './onnx/onnx-model';
import { createSession, gpuTensor, loadOrt } from './ort-runtime';

export interface InteropResult {
  readonly ok: boolean;
  /** Largest |GPU result − plain-TS result| over all outputs. */
  readonly maxAbsError: number;
  readonly outputLocation: string;
  readonly values: readonly number[];
  readonly expected: readonly number[];
}

const K = 64;
const N = 16;

/** y = x @ W + 0.5, with W a graph input (weights we own, bound as a GPU tensor). */
export function interopModel(): Uint8Array {
  return encodeOnnxModel({
    name: 'interop',
    inputs: [
      { name: 'x', type: 'float32', shape: [1, K] },
      { name: 'w', type: 'float32', shape: [K, N] },
    ],
    outputs: [{ name: 'y', type: 'float32', shape: [1, N] }],
    initializers: [{ name: 'half', type: 'float32', dims: [1], data: new Float32Array([0.5]) }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'half'], outputs: ['y'] },
    ],
  });
}

export async function runInteropCheck(ctx: GpuContext): Promise<InteropResult> {
  const { device } = ctx;
  const ort = await loadOrt();
  const kernels = new KernelCache(device);
  const weights = new Float32Array(K * N).map((_, i) => ((i * 37) % 11) / 8 - 0.6);
  const xBuf = createStorageBuffer(device, 'interop.x', K * 4);
  const wBuf = uploadBuffer(device, 'interop.w', weights);
  const zBuf = createStorageBuffer(device, 'interop.z', N * 4);
  const session = await createSession(ctx, interopModel());
  try {
    // 1. Our kernel writes x[i] = 0.25 − 0.01 i.
    submit(device, 'interop.fill-ramp', prepareFillRamp(kernels, xBuf, { count: K, start: 0.25, step: -0.01 }));
    // 2. ORT reads x and W from our buffers; y stays on the GPU.
    const result = await session.run({
      x: gpuTensor(ort, xBuf, 'float32', [1, K]),
      w: gpuTensor(ort, wBuf, 'float32', [K, N]),
    });
    const y = result.y;
    if (!y) throw new Error('interop: ORT returned no output y');
    // 3. Our second kernel reads ORT's output buffer: z = 2 y − 1.
    submit(device, 'interop.scale-shift', prepareScaleShift(kernels, y.gpuBuffer, zBuf, { count: N, scale: 2, shift: -1 }));
    const z = new Float32Array(await readBuffer(device, zBuf, N * 4));
    const expected = expectedOutput(weights);
    let maxAbsError = 0;
    for (let i = 0; i < N; i++) maxAbsError = Math.max(maxAbsError, Math.abs((z[i] ?? NaN) - (expected[i] ?? NaN)) || 0);
    if (z.some((v) => !Number.isFinite(v))) maxAbsError = Infinity;
    const outputLocation = y.location;
    y.dispose();
    return { ok: maxAbsError < 1e-4 && outputLocation === 'gpu-buffer', maxAbsError, outputLocation, values: [...z], expected };
  } finally {
    await session.release();
    for (const b of [xBuf, wBuf, zBuf]) b.destroy();
  }
}

/** Records one prepared dispatch in its own pass, submits it and frees its uniform buffer (safe right after submit). */
function submit(device: GPUDevice, label: string, dispatch: KernelDispatch): void {
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  dispatch.record(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
  dispatch.destroy();
}

function expectedOutput(weights: Float32Array): number[] {
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    let acc = 0;
    for (let k = 0; k < K; k++) acc += Math.fround(0.25 + -0.01 * k) * (weights[k * N + n] ?? 0);
    out.push(2 * (acc + 0.5) - 1);
  }
  return out;
}
