import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../gpu/gpu-buffers';
import { KernelCache } from '../gpu/kernel';
import { compareArrays, randomFloats } from '../testing/compare';
import { testGpuContext } from '../testing/node-gpu';
import { encodeVisionLayerNorm } from './vision-layer-norm';

/** Plain-TS LayerNorm in f64 (biased variance, as torch). */
function reference(x: Float32Array, gamma: Float32Array, beta: Float32Array, rows: number, dim: number, eps: number): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i] ?? 0;
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += ((x[r * dim + i] ?? 0) - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = ((x[r * dim + i] ?? 0) - mean) * inv * (gamma[i] ?? 0) + (beta[i] ?? 0);
  }
  return y;
}

describe('vision-layer-norm (SwiftShader vs plain TS)', () => {
  it('normalises rows of widths below, at and above the workgroup size, with an offset mean', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    for (const [rows, dim, eps] of [
      [5, 12, 1e-6],
      [3, 1288, 1e-5],
      [17, 516, 1e-6],
    ] as const) {
      // A large common offset makes E[x²] − mean² lose digits; the two-pass kernel must not.
      const x = randomFloats(rows * dim, rows).map((v) => 100 + 3 * v);
      const gamma = randomFloats(dim, 2);
      const beta = randomFloats(dim, 3);
      const buffers = { x: uploadBuffer(device, 'x', x), gamma: uploadBuffer(device, 'g', gamma), beta: uploadBuffer(device, 'b', beta), y: createStorageBuffer(device, 'y', rows * dim * 4) };
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      const params = encodeVisionLayerNorm(device, kernels, pass, buffers, { rows, dim, eps });
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = new Float32Array(await readBuffer(device, buffers.y, rows * dim * 4));
      expect(compareArrays(got, reference(x, gamma, beta, rows, dim, eps)).maxAbs, `${rows}×${dim}`).toBeLessThan(1e-4);
      params.destroy();
      for (const b of Object.values(buffers)) b.destroy();
    }
  });

  it('rejects a width that is not a multiple of 4 and an undersized buffer', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const b = createStorageBuffer(device, 'b', 64);
    const pass = device.createCommandEncoder().beginComputePass();
    expect(() => encodeVisionLayerNorm(device, kernels, pass, { x: b, gamma: b, beta: b, y: b }, { rows: 1, dim: 6, eps: 1e-6 })).toThrow(/multiple of 4/);
    expect(() => encodeVisionLayerNorm(device, kernels, pass, { x: b, gamma: b, beta: b, y: b }, { rows: 8, dim: 8, eps: 1e-6 })).toThrow(/buffer x holds 64 bytes/);
    pass.end();
    b.destroy();
  });
});
