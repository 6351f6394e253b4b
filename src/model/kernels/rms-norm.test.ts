import { describe, expect, it } from 'vitest';
import { uploadBuffer } from '../../gpu/gpu-buffers';
import { KernelCache } from '../../gpu/kernel';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { readF32, runDispatches } from './gpu-test-helpers';
import { prepareRmsNorm, rmsNormReference } from './rms-norm';

// Tolerance: f32 sum of squares over ≤ 5120 terms and one inverseSqrt (a few ulp): NMSE < 1e-12, max-abs
// below 2e-5 for outputs of size ~3 (weights up to 2, inputs ~1 after the norm).
const MAX_ABS = 2e-5;

describe('rms-norm on real WebGPU', () => {
  const cases = [
    { rows: 1, dim: 4096, eps: 1e-5, residual: false },
    { rows: 1, dim: 5120, eps: 1e-5, residual: true },
    { rows: 3, dim: 100, eps: 1e-6, residual: true },
  ];
  for (const c of cases) {
    it(`rows=${c.rows} dim=${c.dim} residual=${c.residual}`, async () => {
      const { device } = await testGpuContext();
      const kernels = new KernelCache(device);
      const n = c.rows * c.dim;
      const x = Float32Array.from(randomFloats(n, 3), (v) => v * 4);
      const delta = randomFloats(n, 4);
      const weight = Float32Array.from(randomFloats(c.dim, 5), (v) => 1 + v);
      const bufs = {
        x: uploadBuffer(device, 'x', x),
        weight: uploadBuffer(device, 'w', weight),
        y: uploadBuffer(device, 'y', new Float32Array(n)),
        ...(c.residual ? { delta: uploadBuffer(device, 'd', delta) } : {}),
      };
      const shape = { rows: c.rows, dim: c.dim, eps: c.eps };
      const k = prepareRmsNorm(device, kernels, bufs, shape);
      await runDispatches(device, [k]);
      const want = rmsNormReference(x, weight, shape, c.residual ? delta : undefined);
      const y = compareArrays(await readF32(device, bufs.y, n), want.y);
      expect(y.maxAbs).toBeLessThan(MAX_ABS);
      expect(y.nmse).toBeLessThan(1e-12);
      // x: unchanged, or x + delta (one f32 add: exact up to rounding).
      expect(compareArrays(await readF32(device, bufs.x, n), want.x).maxAbs).toBeLessThan(1e-6);
      k.destroy();
      for (const b of Object.values(bufs)) b.destroy();
    });
  }
});
