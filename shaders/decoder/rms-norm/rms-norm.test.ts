import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { compareArrays, randomFloats } from '../../../src/testing/compare';
import { readF32, runDispatches } from '../../../src/testing/gpu-readback';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { prepareRmsNorm, rmsNormReference } from './rms-norm';

// Tolerance: f32 sum of squares over ≤ 5120 terms and one inverseSqrt (a few ulp): NMSE < 1e-12, max-abs
// below 2e-5 for outputs of size ~3 (weights up to 2, inputs ~1 after the norm).
const MAX_ABS = 2e-5;

describe('rms-norm on real WebGPU', () => {
  const cases = [
    { rows: 1, dim: 4096, eps: 1e-5 },
    { rows: 1, dim: 5120, eps: 1e-5 },
    // Rows past one workgroup's stride, dim not a multiple of the workgroup size.
    { rows: 3, dim: 100, eps: 1e-6 },
  ];
  for (const c of cases) {
    it(`rows=${c.rows} dim=${c.dim}`, async () => {
      const { device } = await testGpuContext();
      const kernels = new KernelCache(device);
      const n = c.rows * c.dim;
      const x = Float32Array.from(randomFloats(n, 3), (v) => v * 4);
      const weight = Float32Array.from(randomFloats(c.dim, 5), (v) => 1 + v);
      const bufs = {
        x: uploadBuffer(device, 'x', x),
        weight: uploadBuffer(device, 'w', weight),
        y: uploadBuffer(device, 'y', new Float32Array(n)),
      };
      const k = prepareRmsNorm(kernels, bufs, c);
      await runDispatches(device, [k]);
      const y = compareArrays(await readF32(device, bufs.y, n), rmsNormReference(x, weight, c));
      expect(y.maxAbs).toBeLessThan(MAX_ABS);
      expect(y.nmse).toBeLessThan(1e-12);
      // x is only read.
      expect(Array.from(await readF32(device, bufs.x, n))).toEqual(Array.from(x));
      k.destroy();
      for (const b of Object.values(bufs)) b.destroy();
    });
  }

  it('rejects a weight buffer shorter than dim', async () => {
    const { device } = await testGpuContext();
    const big = createStorageBuffer(device, 'big', 4096 * 4);
    const small = createStorageBuffer(device, 'small', 64);
    expect(() => prepareRmsNorm(new KernelCache(device), { x: big, weight: small, y: big }, { rows: 1, dim: 4096, eps: 1e-5 })).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringContaining('buffer weight holds 64 bytes, needs 16384') }),
    );
    for (const b of [big, small]) b.destroy();
  });
});
