import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/convert/graphs/graph-builder';
import { fromFloat16Array, toFloat16Array } from '../../../src/convert/quantize/float16';
import { quantizeInt4Block32, scaleValues } from '../../../src/convert/quantize/int4-block-quantizer';
import { encodeOnnxModel } from '../../../src/ort/onnx/onnx-model';
import { loadOrt } from '../../../src/ort/ort-runtime';
import { float16Bits } from '../../../src/gpu/float16-bits';
import { uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import { randomFloats } from '../../../src/testing/compare';
import { readF32, runDispatches } from '../../../src/testing/gpu-readback';
import { testGpuContext } from '../../../src/testing/node-gpu';
import {
  chooseGemvVariant,
  type GemvCapabilities,
  type GemvEpilogue,
  type GemvVariant,
  gemvVariantName,
  INT4_SCALE_DTYPES,
  type Int4ScaleDtype,
  int4GemvReference,
  prepareInt4Gemv,
} from './int4-gemv';

function randomBytes(count: number, seed: number): Uint8Array {
  const f = randomFloats(count, seed);
  return Uint8Array.from(f, (v) => Math.floor((v + 1) * 128) & 255);
}

function randomScales(count: number, seed: number): Float32Array {
  return Float32Array.from(randomFloats(count, seed), (v) => 0.002 + 0.02 * Math.abs(v));
}

/**
 * Scales as a package of `dtype` stores them: the values the reference multiplies by (f16 scales rounded to f16,
 * as the exporter rounds them; the kernel widens them exactly) and the bytes uploaded (f16 bits padded to whole words).
 */
function storedScales(scales: Float32Array, dtype: Int4ScaleDtype): { values: Float32Array; bytes: ArrayBufferView } {
  if (dtype === 'float32') return { values: scales, bytes: scales };
  const bits = float16Bits(scales);
  const padded = new Uint16Array(bits.length + (bits.length % 2));
  padded.set(bits);
  return { values: fromFloat16Array(bits), bytes: padded };
}

/** Σ_k |x_k · W_nk| per row: the scale the f32 rounding error is measured against. */
function absSums(x: Float32Array, q: Uint8Array, s: Float32Array, n: number, k: number): Float64Array {
  const ax = Float32Array.from(x, Math.abs);
  // |q - 8| as a quantized matrix: build bytes of |q-8| + 8 so the reference computes Σ |x|·|W|.
  const aq = Uint8Array.from(q, (b) => (Math.abs((b & 15) - 8) + 8) | ((Math.abs((b >> 4) - 8) + 8) << 4));
  return int4GemvReference(ax, aq, s, { n, k });
}

/** x · norm_w · inverseSqrt(mean(x²) + eps) (f64 statistic of the f32 input): what the fused norm multiplies by. */
function normalized(x: Float32Array, normWeight: Float32Array, eps: number): Float32Array {
  const r = 1 / Math.sqrt(x.reduce((sum, v) => sum + v * v, 0) / x.length + eps);
  return Float32Array.from(x, (v, i) => v * (normWeight[i] ?? 0) * r);
}

// Tolerance: |got - want| ≤ 2e-5 · Σ|x·W| + 1e-6 (f32 block sums of 32 products, then ≤ K/32 f32 adds).
const REL_TO_ABS_SUM = 2e-5;

let sharedKernels: KernelCache | undefined;

interface RunOptions {
  /** SwiGLU: gate and up in one [2n, …] buffer bound twice, up rows from n. */
  readonly packed?: boolean;
  readonly yOffset?: number;
  /** Fuse RMSNorm (random weight, this eps) in front of the GEMV. */
  readonly normEps?: number;
  /** Element type of the scales (default float32). */
  readonly scaleDtype?: Int4ScaleDtype;
}

/**
 * x (and, with the fused norm, its weight at element 4·ceil(k / 4)) as the kernel reads them: whole vec4s, the
 * lanes past k filled with NaN, which the kernel must mask (any value there reaching a sum makes the row NaN).
 */
function xWithPadding(xRaw: Float32Array, normWeight: Float32Array | undefined): { data: Float32Array; normOffset: number } {
  const k = xRaw.length;
  const stride = Math.ceil(k / 4) * 4;
  const data = new Float32Array(normWeight ? 2 * stride : stride).fill(NaN);
  data.set(xRaw);
  if (normWeight) data.set(normWeight, stride);
  return { data, normOffset: stride };
}

async function runGemv(variant: GemvVariant, epilogue: GemvEpilogue, n: number, k: number, seed: number, options: RunOptions = {}): Promise<void> {
  const packed = options.packed ?? false;
  const yOffset = options.yOffset ?? 0;
  const { device } = await testGpuContext();
  sharedKernels ??= new KernelCache(device);
  // Rows of ceil(k / 32) blocks; a partial last block's padding codes are random here, so they must take no part.
  const blocks = Math.ceil(k / 32);
  const xRaw = randomFloats(k, seed);
  const normWeight = Float32Array.from(randomFloats(k, seed + 6), (v) => 0.5 + v);
  const x = options.normEps === undefined ? xRaw : normalized(xRaw, normWeight, options.normEps);
  const scaleDtype = options.scaleDtype ?? 'float32';
  const q = randomBytes(n * blocks * 16, seed + 1);
  const s = storedScales(randomScales(n * blocks, seed + 2), scaleDtype).values;
  const q2 = randomBytes(n * blocks * 16, seed + 3);
  const s2 = storedScales(randomScales(n * blocks, seed + 4), scaleDtype).values;
  const y0 = randomFloats(n + yOffset, seed + 5);
  const qPacked = new Uint8Array(q.length * 2);
  qPacked.set(q);
  qPacked.set(q2, q.length);
  const sPacked = new Float32Array(s.length * 2);
  sPacked.set(s);
  sPacked.set(s2, s.length);
  const qBuf = uploadBuffer(device, 'q', packed ? qPacked : q);
  const sBuf = uploadBuffer(device, 's', storedScales(packed ? sPacked : s, scaleDtype).bytes);
  const xPadded = xWithPadding(xRaw, options.normEps === undefined ? undefined : normWeight);
  const bufs = {
    // x, then (fused norm) its weight at element 4·ceil(k / 4) of the same buffer.
    x: uploadBuffer(device, 'x', xPadded.data),
    qweight: qBuf,
    scales: sBuf,
    y: uploadBuffer(device, 'y', y0),
    qweight2: packed ? qBuf : uploadBuffer(device, 'q2', q2),
    scales2: packed ? sBuf : uploadBuffer(device, 's2', storedScales(s2, scaleDtype).bytes),
  };
  const norm = options.normEps !== undefined ? { eps: options.normEps, weightOffset: xPadded.normOffset } : undefined;
  const prepared = prepareInt4Gemv(sharedKernels, bufs, { n, k, epilogue, upRowOffset: packed ? n : 0, yOffset, scaleDtype, ...(norm ? { norm } : {}) }, variant);
  await runDispatches(device, [prepared]);
  const all = await readF32(device, bufs.y, n + yOffset);
  // Elements before yOffset are untouched.
  expect(Array.from(all.subarray(0, yOffset))).toEqual(Array.from(y0.subarray(0, yOffset)));
  const got = all.subarray(yOffset);

  const gate = int4GemvReference(x, q, s, { n, k });
  const up = int4GemvReference(x, q2, s2, { n, k });
  const bound = absSums(x, q, s, n, k);
  const bound2 = absSums(x, q2, s2, n, k);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const g = gate[i] ?? 0;
    const u = up[i] ?? 0;
    const want = epilogue === 'store' ? g : epilogue === 'add' ? (y0[yOffset + i] ?? 0) + g : (g / (1 + Math.exp(-g))) * u;
    // SwiGLU: the error of gate and up propagates through silu(g)·u (|silu'| ≤ 1.1).
    const tol =
      epilogue === 'swiglu'
        ? REL_TO_ABS_SUM * ((bound[i] ?? 0) * 1.1 * Math.abs(u) + (bound2[i] ?? 0) * Math.abs(g)) + 1e-6
        : REL_TO_ABS_SUM * (bound[i] ?? 0) + 1e-6;
    worst = Math.max(worst, Math.abs((got[i] ?? NaN) - want) / tol);
  }
  expect(worst).toBeLessThan(1);
  prepared.destroy();
  for (const b of new Set(Object.values(bufs))) b.destroy();
}

describe('int4 GEMV on real WebGPU', () => {
  // n not a multiple of the rows per workgroup (the clamped last workgroup); K from one block to Llama's 11008.
  const cases = [
    { n: 37, k: 4096, variant: { workgroupSize: 64, rows: 8 } },
    { n: 5, k: 11008, variant: { workgroupSize: 128, rows: 3 } },
    { n: 130, k: 64, variant: { workgroupSize: 32, rows: 4 } },
  ];
  // Every epilogue with and without the fused norm, rotating through the shapes and variants (SwiftShader compiles are slow).
  for (const [ei, epilogue] of (['store', 'add', 'swiglu'] as const).entries()) {
    for (const [ni, normEps] of [undefined, 1e-5].entries()) {
      const c = cases[(ei + ni) % cases.length] ?? { n: 1, k: 32, variant: { workgroupSize: 64, rows: 8 } };
      it(`${gemvVariantName(c.variant)} ${epilogue}${normEps ? ' + norm' : ''} n=${c.n} k=${c.k}`, async () => {
        await runGemv(c.variant, epilogue, c.n, c.k, 11 + ei + 3 * ni, { yOffset: ni === 0 ? 0 : 2, ...(normEps === undefined ? {} : { normEps }) });
      });
    }
  }

  // f16 scales (q4f16): the same f32 arithmetic on scales widened exactly, so the same tolerance against a reference
  // on the f16-rounded scales. n · k / 32 odd: the last scale shares its word with padding.
  for (const [i, epilogue] of (['store', 'add', 'swiglu'] as const).entries()) {
    const c = [
      { n: 37, k: 32, variant: { workgroupSize: 64, rows: 8 } },
      { n: 19, k: 4096, variant: { workgroupSize: 64, rows: 8 } },
      { n: 9, k: 1056, variant: { workgroupSize: 32, rows: 3 } },
    ][i] ?? { n: 1, k: 32, variant: { workgroupSize: 64, rows: 8 } };
    it(`f16 scales: ${gemvVariantName(c.variant)} ${epilogue} + norm n=${c.n} k=${c.k}`, async () => {
      await runGemv(c.variant, epilogue, c.n, c.k, 51 + i, { scaleDtype: 'float16', normEps: 1e-5, yOffset: 3, packed: epilogue === 'swiglu' });
    });
  }

  it('f16 scales: a scales buffer shorter than the f16 rows need is refused (sizes in whole words)', async () => {
    const { device } = await testGpuContext();
    const buf = uploadBuffer(device, 'b', new Float32Array(128));
    const scales = uploadBuffer(device, 'scales', new Uint16Array(8));
    // 17 rows of one block: 17 f16 scales in 9 words; the buffer holds 16 bytes.
    expect(() => prepareInt4Gemv(new KernelCache(device), { x: buf, y: buf, qweight: buf, scales }, { n: 17, k: 32, epilogue: 'store', scaleDtype: 'float16' }, { workgroupSize: 64, rows: 8 })).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringContaining('buffer scales holds 16 bytes, needs 36') }),
    );
    for (const b of [buf, scales]) b.destroy();
  });

  it('fused norm with 16 invocations and SwiGLU (the Σ x² accumulator past every row accumulator)', async () => {
    await runGemv({ workgroupSize: 16, rows: 8 }, 'swiglu', 9, 1024, 41, { normEps: 1e-6, packed: true });
  });

  it('SwiGLU from one packed gate+up buffer bound twice (upRowOffset = n)', async () => {
    const ctx = await testGpuContext();
    const shape = { n: 21, k: 4096, epilogue: 'swiglu' as const };
    await runGemv(chooseGemvVariant(ctx.capabilities, shape), 'swiglu', shape.n, shape.k, 5, { packed: true, yOffset: 7 });
  });

  it('the chooser’s variant runs on this device (Llama-like K, odd N)', async () => {
    const ctx = await testGpuContext();
    const shape = { n: 19, k: 4096, epilogue: 'add' as const };
    await runGemv(chooseGemvVariant(ctx.capabilities, shape), 'add', shape.n, shape.k, 99, { yOffset: 5 });
  });

  for (const [withNorm, scaleDtype] of [[true, 'float32'], [false, 'float32'], [true, 'float16']] as const) {
    it(`store3: q, k and v stacked along n in one dispatch${withNorm ? ', with the fused norm' : ''}${scaleDtype === 'float16' ? ', f16 scales' : ''}`, async () => {
      const { device } = await testGpuContext();
      sharedKernels ??= new KernelCache(device);
      const [a, b, c, k, yOffset] = [24, 8, 13, 4096, 3];
      const blocks = k / 32;
      const xRaw = randomFloats(k, 70);
      const normWeight = Float32Array.from(randomFloats(k, 71), (v) => 0.5 + v);
      const eps = 1e-5;
      const x = withNorm ? normalized(xRaw, normWeight, eps) : xRaw;
      const mats = [a, b, c].map((rows, i) => ({ rows, q: randomBytes(rows * blocks * 16, 72 + 2 * i), s: storedScales(randomScales(rows * blocks, 73 + 2 * i), scaleDtype) }));
      const [m1, m2, m3] = mats.map((m) => ({ qweight: uploadBuffer(device, 'q', m.q), scales: uploadBuffer(device, 's', m.s.bytes) }));
      if (!m1 || !m2 || !m3) throw new Error('three matrices');
      const y0 = randomFloats(yOffset + a + b + c, 79);
      const y = uploadBuffer(device, 'y', y0);
      const xBuf = uploadBuffer(device, 'x', withNorm ? Float32Array.from([...xRaw, ...normWeight]) : xRaw);
      const prepared = prepareInt4Gemv(
        sharedKernels,
        { x: xBuf, y, ...m1, qweight2: m2.qweight, scales2: m2.scales, qweight3: m3.qweight, scales3: m3.scales },
        { n: a + b + c, k, epilogue: 'store3', stacked: [a, b], yOffset, scaleDtype, ...(withNorm ? { norm: { eps, weightOffset: k } } : {}) },
        { workgroupSize: 64, rows: 8 },
      );
      await runDispatches(device, [prepared]);
      const got = await readF32(device, y, yOffset + a + b + c);
      expect(Array.from(got.subarray(0, yOffset))).toEqual(Array.from(y0.subarray(0, yOffset)));
      let row = yOffset;
      let worst = 0;
      for (const m of mats) {
        const want = int4GemvReference(x, m.q, m.s.values, { n: m.rows, k });
        const bound = absSums(x, m.q, m.s.values, m.rows, k);
        for (let i = 0; i < m.rows; i++, row++) worst = Math.max(worst, Math.abs((got[row] ?? NaN) - (want[i] ?? 0)) / (REL_TO_ABS_SUM * (bound[i] ?? 0) + 1e-6));
      }
      expect(worst).toBeLessThan(1);
      prepared.destroy();
      for (const buf of [y, xBuf, ...[m1, m2, m3].flatMap((m) => Object.values(m))]) buf.destroy();
    });
  }

  it('store3 rejects stacked row counts that are not multiples of the rows per workgroup', async () => {
    const { device } = await testGpuContext();
    const buf = uploadBuffer(device, 'b', new Float32Array(4096 * 8));
    expect(() =>
      prepareInt4Gemv(
        new KernelCache(device),
        { x: buf, y: buf, qweight: buf, scales: buf, qweight2: buf, scales2: buf, qweight3: buf, scales3: buf },
        { n: 30, k: 32, epilogue: 'store3', stacked: [12, 12] },
        { workgroupSize: 64, rows: 8 },
      ),
    ).toThrow(/multiples of 8/);
    buf.destroy();
  });

  it('rejects a buffer smaller than the shape needs, naming it and the sizes', async () => {
    const { device } = await testGpuContext();
    const buf = uploadBuffer(device, 'b', new Float32Array(64));
    const small = uploadBuffer(device, 'small', new Float32Array(4));
    expect(() => prepareInt4Gemv(new KernelCache(device), { x: buf, y: small, qweight: buf, scales: buf }, { n: 8, k: 32, epilogue: 'store' }, { workgroupSize: 64, rows: 8 })).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringContaining('buffer y holds 16 bytes, needs 32') }),
    );
    for (const b of [buf, small]) b.destroy();
  });
});

/**
 * onnxruntime-web's CPU (wasm) MatMulNBits on the same bytes: y [1, n] = x · dequant(B)ᵀ for B [n, ceil(k / 32), 16]
 * with the node's K = k, as the decoder graph declares it (an outside truth for how a partial last block is read).
 * f16 scales run the graph in float16 (MatMulNBits takes A, scales and Y in one type), x rounded to f16 by the caller.
 */
async function ortCpuMatMulNBits(x: Float32Array, packed: Uint8Array, scales: Float32Array | Uint16Array, n: number, k: number): Promise<Float32Array> {
  const ort = await loadOrt();
  const type = scales instanceof Float32Array ? 'float32' : 'float16';
  const blocks = Math.ceil(k / 32);
  const b = new GraphBuilder('matmulnbits', type);
  const a = b.input('a', type, [1, k]);
  const w = b.input('b', 'uint8', [n, blocks, 16]);
  const s = b.input('scales', type, [n, blocks]);
  b.op('MatMulNBits', [a, w, s], { domain: 'com.microsoft', outputs: ['y'], attributes: { K: k, N: n, bits: 4, block_size: 32, accuracy_level: 0 } });
  b.output('y', type, [1, n]);
  const session = await ort.InferenceSession.create(encodeOnnxModel(b.build().graph), { executionProviders: ['wasm'] });
  try {
    const out = await session.run({
      a: type === 'float32' ? new ort.Tensor('float32', x, [1, k]) : new ort.Tensor('float16', toFloat16Array(x), [1, k]),
      b: new ort.Tensor('uint8', packed, [n, blocks, 16]),
      scales: new ort.Tensor(type, scales, [n, blocks]),
    });
    const y = out.y?.data;
    return y instanceof Uint16Array ? fromFloat16Array(y) : Float32Array.from(y as Float32Array);
  } finally {
    await session.release();
  }
}

describe('int4 GEMV for any K (rows of ceil(K / 32) blocks, the last one padded as MatMulNBits defines it)', () => {
  // The odd test model's K (hidden 72, intermediate 200) and 432 (a tail of 16): W quantized by the exporter's
  // quantizer, then our kernel, the plain-TS reference and onnxruntime's CPU MatMulNBits on the same bytes.
  for (const scaleDtype of INT4_SCALE_DTYPES) {
    for (const k of [432, 200, 72]) {
      it(`K = ${k} (${k % 32} in the last block), ${scaleDtype} scales: kernel = reference = onnxruntime CPU`, async () => {
        const { device } = await testGpuContext();
        sharedKernels ??= new KernelCache(device);
        const n = 37;
        const f16 = scaleDtype === 'float16';
        // The f16 graph takes x in f16: give every side the same f16-rounded x.
        const x = f16 ? fromFloat16Array(toFloat16Array(randomFloats(k, k))) : randomFloats(k, k);
        const q = quantizeInt4Block32(randomFloats(n * k, k + 1), n, k, { scaleType: scaleDtype });
        const scales = scaleValues(q);
        const bufs = {
          x: uploadBuffer(device, 'x', xWithPadding(x, undefined).data),
          qweight: uploadBuffer(device, 'q', q.packed),
          scales: uploadBuffer(device, 's', storedScales(scales, scaleDtype).bytes),
          y: uploadBuffer(device, 'y', new Float32Array(n)),
        };
        const prepared = prepareInt4Gemv(sharedKernels, bufs, { n, k, epilogue: 'store', scaleDtype }, { workgroupSize: 64, rows: 8 });
        await runDispatches(device, [prepared]);
        const got = await readF32(device, bufs.y, n);
        prepared.destroy();
        for (const b of Object.values(bufs)) b.destroy();

        const want = int4GemvReference(x, q.packed, scales, { n, k });
        const bound = absSums(x, q.packed, scales, n, k);
        const ort = await ortCpuMatMulNBits(x, q.packed, q.scales, n, k);
        // ORT's f16 graph rounds y to f16 (2^-11 relative) and may accumulate in f16: 2e-3 of Σ|x·W| covers both.
        const ortTol = f16 ? 2e-3 : REL_TO_ABS_SUM;
        let worstKernel = 0;
        let worstOrt = 0;
        for (let i = 0; i < n; i++) {
          const b = bound[i] ?? 0;
          worstKernel = Math.max(worstKernel, Math.abs((got[i] ?? NaN) - (want[i] ?? 0)) / (REL_TO_ABS_SUM * b + 1e-6));
          worstOrt = Math.max(worstOrt, Math.abs((ort[i] ?? NaN) - (got[i] ?? NaN)) / (ortTol * b + 1e-6));
        }
        expect(worstKernel).toBeLessThan(1);
        expect(worstOrt).toBeLessThan(1);
        // The sums are far from 0, so agreeing with ORT is not agreeing on nothing.
        expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(0.5);
      });
    }
  }

  // K not a multiple of 4 either: the x vec4 and the norm weight's vec4 reach past K (NaN there, masked), and the
  // padding codes are random; every epilogue that reads x differently (norm, SwiGLU's second matrix).
  it('K = 50 SwiGLU + norm, packed gate/up (a last block of 18, x ending mid-vec4)', async () => {
    await runGemv({ workgroupSize: 16, rows: 8 }, 'swiglu', 9, 50, 61, { normEps: 1e-6, packed: true });
  });
  it('K = 13 (one partial block only), add + norm, f16 scales', async () => {
    await runGemv({ workgroupSize: 64, rows: 8 }, 'add', 11, 13, 62, { normEps: 1e-5, yOffset: 1, scaleDtype: 'float16' });
  });
  it('K = 1', async () => {
    await runGemv({ workgroupSize: 64, rows: 8 }, 'store', 5, 1, 63);
  });
  it('K = 4097 with 64 invocations (the tail block taken by invocation 0 after a full round)', async () => {
    await runGemv({ workgroupSize: 64, rows: 8 }, 'store', 10, 4097, 64);
  });
});

describe('chooseGemvVariant', () => {
  const nvidia: GemvCapabilities = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152 };
  it('64 invocations and 8 rows per workgroup (the fastest on the H200, run 6)', () => {
    expect(chooseGemvVariant(nvidia, { n: 4096, k: 4096, epilogue: 'store' })).toEqual({ workgroupSize: 64, rows: 8 });
    expect(chooseGemvVariant(nvidia, { n: 8, k: 11008, epilogue: 'swiglu' })).toEqual({ workgroupSize: 64, rows: 8 });
  });
  it('stays within the device limits and workgroup memory', () => {
    const small = { maxComputeInvocationsPerWorkgroup: 32, maxComputeWorkgroupStorageSize: 2048 };
    const v = chooseGemvVariant(small, { n: 8, k: 11008, epilogue: 'swiglu' });
    expect(v.workgroupSize).toBeLessThanOrEqual(32);
    expect(17 * 4 * v.workgroupSize + 64).toBeLessThanOrEqual(2048);
  });
  it('takes any positive K and rejects a K that is no input width with a precise error', () => {
    expect(chooseGemvVariant(nvidia, { n: 8, k: 100, epilogue: 'store' })).toEqual({ workgroupSize: 64, rows: 8 });
    for (const k of [0, -32, 2.5, NaN]) {
      expect(() => chooseGemvVariant(nvidia, { n: 8, k, epilogue: 'store' })).toThrow(SarashinaError);
      expect(() => chooseGemvVariant(nvidia, { n: 8, k, epilogue: 'store' })).toThrow(`K = ${k}`);
    }
  });
});
