import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { testGpuContext } from '../../../src/testing/node-gpu';
import type { VisionStorage } from '../linear/vision-linear';
import { fromStorage, storageElementBytes, toStorage } from '../storage-test-data';
import { encodeVisionLayerNorm } from './vision-layer-norm';
import { visionLayerNormReference } from './vision-layer-norm-reference';

// f32: two-pass mean/variance over ≤ 1288 terms of values near 100.
const MAX_ABS = 1e-4;
// f16 output rounding (2^-11 relative) on outputs up to ~4.
const MAX_ABS_F16 = 4e-3;

let kernels: KernelCache | undefined;

async function run(rows: number, dim: number, eps: number, storage: VisionStorage): Promise<{ got: Float32Array; want: Float64Array }> {
  const { device } = await testGpuContext();
  kernels ??= new KernelCache(device);
  // A large common offset makes E[x²] − mean² lose digits; the two-pass kernel must not.
  const x = randomFloats(rows * dim, rows).map((v) => 100 + 3 * v);
  const gamma = randomFloats(dim, 2);
  const beta = randomFloats(dim, 3);
  const bytes = rows * dim * storageElementBytes(storage);
  const buffers = {
    x: uploadBuffer(device, 'x', toStorage(x, storage)),
    gamma: uploadBuffer(device, 'g', toStorage(gamma, storage)),
    beta: uploadBuffer(device, 'b', toStorage(beta, storage)),
    y: createStorageBuffer(device, 'y', Math.ceil(bytes / 4) * 4),
  };
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const dispatch = encodeVisionLayerNorm(kernels, pass, buffers, { rows, dim, eps }, { storage });
  pass.end();
  device.queue.submit([encoder.finish()]);
  dispatch?.destroy();
  const got = fromStorage(await readBuffer(device, buffers.y, bytes), storage);
  for (const b of Object.values(buffers)) b.destroy();
  return { got, want: visionLayerNormReference(x, gamma, beta, { rows, dim, eps }) };
}

describe('vision-layer-norm (SwiftShader vs plain TS)', () => {
  it('normalises rows of widths below, at and above the workgroup size, with an offset mean', async () => {
    for (const [rows, dim, eps] of [
      [5, 12, 1e-6],
      [3, 1288, 1e-5],
      [17, 516, 1e-6],
    ] as const) {
      const { got, want } = await run(rows, dim, eps, 'f32');
      expect(compareArrays(got, want).maxAbs, `${rows}×${dim}`).toBeLessThan(MAX_ABS);
    }
  });

  it('stores f16 activations and weights (packed pairs), computing in f32', async () => {
    for (const [rows, dim, eps] of [
      [5, 12, 1e-6],
      [7, 516, 1e-6],
    ] as const) {
      const { got, want } = await run(rows, dim, eps, 'f16');
      expect(compareArrays(got, want).maxAbs, `${rows}×${dim}`).toBeLessThan(MAX_ABS_F16);
    }
  });

  it('rejects a width that is not a multiple of 4 and an undersized buffer; records nothing for zero rows', async () => {
    const { device } = await testGpuContext();
    kernels ??= new KernelCache(device);
    const b = createStorageBuffer(device, 'b', 64);
    const pass = device.createCommandEncoder().beginComputePass();
    expect(() => encodeVisionLayerNorm(kernels!, pass, { x: b, gamma: b, beta: b, y: b }, { rows: 1, dim: 6, eps: 1e-6 })).toThrow(/multiple of 4/);
    expect(() => encodeVisionLayerNorm(kernels!, pass, { x: b, gamma: b, beta: b, y: b }, { rows: 8, dim: 8, eps: 1e-6 })).toThrow(/buffer x holds 64 bytes but \[8, 8\] needs 256/);
    expect(encodeVisionLayerNorm(kernels!, pass, { x: b, gamma: b, beta: b, y: b }, { rows: 0, dim: 8, eps: 1e-6 })).toBeNull();
    pass.end();
    b.destroy();
  });
});
