import { describe, expect, it } from 'vitest';
import { readBuffer, uploadBuffer } from '../gpu/gpu-buffers';
import { KernelCache } from '../gpu/kernel';
import { visionRotaryTables } from '../processor/vision-rotary';
import { compareArrays, randomFloats } from '../testing/compare';
import { testGpuContext } from '../testing/node-gpu';
import { encodeVisionRope, visionRopeReference } from './vision-rope';

// Tolerance: both sides do the same 2 products and a sum in f32 vs f64; inputs are O(1).
const MAX_ABS = 1e-5;

describe('vision-rope kernel on real WebGPU', () => {
  const cases = [
    { name: 'Qwen2-VL head (80), one 4x6 image', grids: [{ t: 1, h: 4, w: 6 }], heads: 16, headDim: 80 },
    { name: 'three images of odd block counts', grids: [{ t: 1, h: 2, w: 2 }, { t: 1, h: 6, w: 10 }, { t: 1, h: 14, w: 2 }], heads: 3, headDim: 80 },
    { name: 'small head (16), many rows past one dispatch row', grids: [{ t: 1, h: 128, w: 130 }], heads: 2, headDim: 16 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const ctx = await testGpuContext();
      const { device } = ctx;
      const tables = visionRotaryTables(c.grids, c.headDim);
      const x = randomFloats(tables.patches * c.heads * c.headDim, 7);
      const shape = { rows: tables.patches, heads: c.heads, headDim: c.headDim };
      const xBuf = uploadBuffer(device, 'x', x);
      const cosBuf = uploadBuffer(device, 'cos', tables.cos);
      const sinBuf = uploadBuffer(device, 'sin', tables.sin);
      const kernels = new KernelCache(device);
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      const params = encodeVisionRope(device, kernels, pass, { x: xBuf, cos: cosBuf, sin: sinBuf }, shape);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = new Float32Array(await readBuffer(device, xBuf, x.byteLength));
      const want = visionRopeReference(x, tables.cos, tables.sin, shape);
      const stats = compareArrays(got, want);
      expect(stats.maxAbs).toBeLessThan(MAX_ABS);
      // The rotation must actually have changed the data (a no-op kernel would fail here).
      expect(compareArrays(got, x).maxAbs).toBeGreaterThan(0.1);
      for (const b of [xBuf, cosBuf, sinBuf, params]) b.destroy();
    });
  }

  it('tables turn pair j by the row for j < 20 and by the column after', () => {
    const t = visionRotaryTables([{ t: 1, h: 2, w: 4 }], 80);
    // Row 1 of the merge window order is (h=0, w=1): row pairs have angle 0, column pair 20 has angle 1·inv_freq[0] = 1.
    expect(t.cos[1 * 40 + 0]).toBe(1);
    expect(t.cos[1 * 40 + 20]).toBeCloseTo(Math.cos(1), 6);
    // Row 2 is (h=1, w=0).
    expect(t.cos[2 * 40 + 0]).toBeCloseTo(Math.cos(1), 6);
    expect(t.cos[2 * 40 + 20]).toBe(1);
  });
});
