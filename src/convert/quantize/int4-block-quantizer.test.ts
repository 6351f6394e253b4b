import { describe, expect, it } from 'vitest';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { isSarashinaError } from '../../protocol/errors';
import { GraphHarness } from '../../testing/graph-harness';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';
import { dequantizeInt4Block32, INT4_BLOCK_SIZE, quantizeInt4Block32, scaleValues } from './int4-block-quantizer';

function blockMaxAbs(w: Float32Array, cols: number, index: number): number {
  const row = Math.floor(index / cols);
  const b = Math.floor((index % cols) / INT4_BLOCK_SIZE);
  let m = 0;
  for (let i = 0; i < INT4_BLOCK_SIZE; i++) m = Math.max(m, Math.abs(w[row * cols + b * INT4_BLOCK_SIZE + i] ?? 0));
  return m;
}

describe('float16 conversion', () => {
  it('round-trips representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -0.333251953125]) {
      expect(float16BitsToFloat32(float32ToFloat16Bits(v))).toBe(v);
    }
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even → 1.
    expect(float16BitsToFloat32(float32ToFloat16Bits(1 + 2 ** -11))).toBe(1);
    expect(float16BitsToFloat32(float32ToFloat16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(float16BitsToFloat32(float32ToFloat16Bits(1e6))).toBe(Infinity);
    const xs = randomFloats(1000, 3);
    for (const x of xs) expect(Math.abs(float16BitsToFloat32(float32ToFloat16Bits(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
  });
});

describe('int4 block-32 quantizer', () => {
  it('packs codes low nibble first with scale = max|w| / 7', () => {
    // One block: w_i = (i − 16) · 0.5 / 16 · 7 → max |w| at i = 0 (−3.5); scale 0.5; codes i − 16 clamp-free after rounding.
    const w = new Float32Array(32).map((_, i) => ((i - 16) / 16) * 3.5);
    const q = quantizeInt4Block32(w, 1, 32, { scaleType: 'float32' });
    expect(scaleValues(q)[0]).toBeCloseTo(0.5, 7);
    for (let j = 0; j < 16; j++) {
      const expectCode = (i: number): number => Math.sign(w[i]! / 0.5) * Math.round(Math.abs(w[i]! / 0.5)) + 8;
      expect(q.packed[j]! & 0xf).toBe(expectCode(2 * j));
      expect(q.packed[j]! >> 4).toBe(expectCode(2 * j + 1));
    }
  });

  it.each(['float32', 'float16'] as const)('round trip stays within scale/2 per element (%s scales)', (scaleType) => {
    const rows = 24;
    const cols = 96;
    const w = randomFloats(rows * cols, 11).map((x, i) => x * (1 + (i % 7)) * 0.05);
    w.fill(0, 32, 64); // an all-zero block must come back exactly zero
    const q = quantizeInt4Block32(w, rows, cols, { scaleType });
    expect(q.packed.length).toBe((rows * cols) / 2);
    expect(q.scales.length).toBe((rows * cols) / 32);
    const d = dequantizeInt4Block32(q);
    const scales = scaleValues(q);
    let worst = 0;
    for (let i = 0; i < w.length; i++) {
      const scale = scales[Math.floor(i / 32)]!;
      const slack = scaleType === 'float16' ? 0.004 * scale : 1e-6 * scale;
      const err = Math.abs(w[i]! - d[i]!);
      expect(err).toBeLessThanOrEqual(scale / 2 + slack);
      expect(err).toBeLessThanOrEqual(blockMaxAbs(w, cols, i) / 14 + slack + 1e-12);
      worst = Math.max(worst, err / (scale || 1));
    }
    expect(worst).toBeGreaterThan(0.3); // the bound is tight, so the check can fail
    for (let i = 32; i < 64; i++) expect(d[i]).toBe(0);
    expect(compareArrays(d, w).nmse).toBeLessThan(0.01);
  });

  it.each(['float32', 'float16'] as const)('pads a partial last block as MatMulNBits reads it: code 8, scale from the real values (%s scales)', (scaleType) => {
    // K = 40: one full block and 8 real values in the second, whose largest |w| (0.7) is far below the first's (3.5).
    const [rows, cols] = [3, 40];
    const w = randomFloats(rows * cols, 5).map((x, i) => ((i % cols) < 32 ? x * 3.5 : x * 0.7));
    for (let r = 0; r < rows; r++) {
      w[r * cols] = 3.5;
      w[r * cols + 33] = -0.7;
    }
    const q = quantizeInt4Block32(w, rows, cols, { scaleType });
    expect(q.packed.length).toBe(rows * 2 * 16);
    expect(q.scales.length).toBe(rows * 2);
    const scales = scaleValues(q);
    const f16 = scaleType === 'float16' ? 2 ** -11 : 1e-7;
    for (let r = 0; r < rows; r++) {
      expect(Math.abs(scales[2 * r]! - 0.5) / 0.5).toBeLessThan(f16);
      expect(Math.abs(scales[2 * r + 1]! - 0.1) / 0.1).toBeLessThan(f16);
      // Bytes 4..15 of the second block hold only padding: both nibbles 8.
      for (let j = 4; j < 16; j++) expect(q.packed[(2 * r + 1) * 16 + j]).toBe(0x88);
    }
    const d = dequantizeInt4Block32(q);
    expect(d.length).toBe(rows * cols);
    for (let i = 0; i < w.length; i++) expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(scales[Math.floor(i / cols) * 2 + ((i % cols) < 32 ? 0 : 1)]! * (0.5 + 0.004));
  });

  it('rejects a shape that is no weight and non-finite weights', () => {
    expect(() => quantizeInt4Block32(new Float32Array(0), 1, 0, { scaleType: 'float32', name: 'x.weight' })).toThrow(/x\.weight: shape \[1, 0\]/);
    const bad = new Float32Array(32);
    bad[5] = NaN;
    try {
      quantizeInt4Block32(bad, 1, 32, { scaleType: 'float32', name: 'y.weight' });
      expect.unreachable();
    } catch (e) {
      expect(isSarashinaError(e, 'invalid-model')).toBe(true);
      expect(String(e)).toMatch(/y\.weight.*\[0, 5\]/);
    }
  });

  // accuracy_level 4 lets ORT quantize A to int8 per block (the fast path the decoder uses): measured
  // maxRel 3.4e-3 here; level 0 keeps A in f32 and must match to rounding.
  // K = 200 and 72 (partial last blocks, the odd test model's widths): onnxruntime-web's WebGPU kernels read
  // B [N, ceil(K/32), 16] with the true K like its CPU kernel (the int4 GEMV tests compare against that one).
  it.each([
    [0, 1e-5, 128],
    [4, 1e-2, 128],
    [0, 1e-5, 200],
    [4, 1e-2, 72],
  ])('MatMulNBits on WebGPU (no CPU fallback), accuracy_level %i, equals A · dequant(W)ᵀ within %f relative, K = %i', async (accuracyLevel, tolerance, K) => {
    const ctx = await testGpuContext();
    const [M, N] = [5, 48];
    const blocks = Math.ceil(K / 32);
    const w = randomFloats(N * K, 21);
    const a = randomFloats(M * K, 22);
    const q = quantizeInt4Block32(w, N, K, { scaleType: 'float32' });
    const harness = await GraphHarness.create(ctx, {
      name: 'mmnb',
      inputs: [
        { name: 'a', type: 'float32', shape: [M, K] },
        { name: 'b', type: 'uint8', shape: [N, blocks, 16] },
        { name: 'scales', type: 'float32', shape: [N, blocks] },
      ],
      outputs: [{ name: 'y', type: 'float32', shape: [M, N] }],
      nodes: [
        {
          op: 'MatMulNBits',
          domain: 'com.microsoft',
          inputs: ['a', 'b', 'scales'],
          outputs: ['y'],
          attributes: { K, N, bits: 4, block_size: 32, accuracy_level: accuracyLevel },
        },
      ],
    });
    try {
      const out = await harness.run({
        a: { type: 'float32', dims: [M, K], data: a },
        b: { type: 'uint8', dims: [N, blocks, 16], data: q.packed },
        scales: { type: 'float32', dims: [N, blocks], data: q.scales },
      });
      const y = await harness.readFloat32(out.y!);
      const d = dequantizeInt4Block32(q);
      const expected = new Float32Array(M * N);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a[m * K + k]! * d[n * K + k]!;
        expected[m * N + n] = acc;
      }
      const stats = compareArrays(y, expected);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(tolerance);
      expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(1);
    } finally {
      await harness.release();
    }
  });
});
