import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../gpu/gpu-buffers';
import { KernelCache } from '../gpu/kernel';
import { compareArrays, randomFloats } from '../testing/compare';
import { testGpuContext } from '../testing/node-gpu';
import { float16Bits } from './float16-bits';
import {
  chooseVisionLinearTiling,
  encodeVisionLinear,
  VISION_LINEAR_LARGE,
  VISION_LINEAR_MEDIUM,
  VISION_LINEAR_SMALL,
  VISION_LINEAR_TILINGS,
  type VisionLinearEpilogue,
  type VisionLinearTiling,
  visionLinearTilingFits,
} from './vision-linear';

// f32 dot products of ≤ 100 terms of O(1) values: ~1e-6; erf's approximation adds ≤ 1.5e-7 · |x|.
const MAX_ABS = 2e-5;
// f16 output rounding (2^-11 relative) on values up to ~10.
const MAX_ABS_F16 = 1e-2;

const SMALL = VISION_LINEAR_SMALL;
const WIDE: VisionLinearTiling = { rowsPerThread: 8, colsPerThread: 4, threadsM: 4, threadsN: 8, tileK: 16 };

function f16Value(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/** Plain-TS reference in f64 from the (possibly f16-rounded) inputs. */
function reference(x: Float32Array, w: Float32Array, bias: Float32Array | undefined, residual: Float32Array, rows: number, inDim: number, outDim: number, epilogue: VisionLinearEpilogue): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < outDim; n++) {
      let v = bias ? (bias[n] ?? 0) : 0;
      for (let k = 0; k < inDim; k++) v += (x[m * inDim + k] ?? 0) * (w[n * inDim + k] ?? 0);
      if (epilogue === 'quick-gelu') v = v / (1 + Math.exp(-1.702 * v));
      if (epilogue === 'gelu') v = 0.5 * v * (1 + erf(v / Math.SQRT2));
      if (epilogue === 'residual') v += residual[m * outDim + n] ?? 0;
      y[m * outDim + n] = v;
    }
  }
  return y;
}

/** erf by its Taylor series below 4 (f64 cancellation ≤ ~1e-10 there), by the leading asymptotic term above. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a >= 4) return Math.sign(x) * (1 - Math.exp(-a * a) / (a * Math.sqrt(Math.PI)));
  let sum = 0;
  let term = a;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-a * a) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
}

let kernels: KernelCache | undefined;

interface Case {
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly epilogue: VisionLinearEpilogue;
  readonly bias?: boolean;
  readonly tiling: VisionLinearTiling;
  readonly f16?: boolean;
  readonly scale?: number;
}

async function run(c: Case): Promise<{ got: Float32Array; want: Float64Array }> {
  const { device } = await testGpuContext();
  kernels ??= new KernelCache(device);
  const s = c.scale ?? 1;
  const x = randomFloats(c.rows * c.inDim, 1).map((v) => v * s);
  const w = randomFloats(c.outDim * c.inDim, 2).map((v) => v * 0.5);
  const bias = c.bias === false ? undefined : randomFloats(c.outDim, 3);
  const residual = randomFloats(c.rows * c.outDim, 4);
  const store = (label: string, data: Float32Array): GPUBuffer => {
    if (!c.f16) return uploadBuffer(device, label, data);
    const bits = float16Bits(data);
    data.set(Array.from(bits, f16Value));
    return uploadBuffer(device, label, bits.length % 2 ? Uint16Array.from([...bits, 0]) : bits);
  };
  const buffers = { x: store('x', x), weight: store('w', w), ...(bias ? { bias: store('bias', bias) } : {}), y: store('y', residual) };
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const params = encodeVisionLinear(device, kernels, pass, buffers, { rows: c.rows, inDim: c.inDim, outDim: c.outDim }, { epilogue: c.epilogue, tiling: c.tiling, storage: c.f16 ? 'f16' : 'f32' });
  pass.end();
  device.queue.submit([encoder.finish()]);
  const bytes = await readBuffer(device, buffers.y, c.rows * c.outDim * (c.f16 ? 2 : 4));
  const got = c.f16 ? Float32Array.from(new Uint16Array(bytes), f16Value) : new Float32Array(bytes);
  params.destroy();
  for (const b of Object.values(buffers)) b.destroy();
  return { got, want: reference(x, w, bias, residual, c.rows, c.inDim, c.outDim, c.epilogue) };
}

describe('vision-linear (y = epilogue(x·Wᵀ + b), SwiftShader vs plain TS)', () => {
  it('matches on shapes that are not multiples of the block, for every epilogue', async () => {
    const cases: Case[] = [
      { rows: 37, inDim: 44, outDim: 52, epilogue: 'none', tiling: SMALL },
      { rows: 37, inDim: 44, outDim: 52, epilogue: 'none', bias: false, tiling: SMALL },
      { rows: 70, inDim: 20, outDim: 36, epilogue: 'quick-gelu', tiling: WIDE, scale: 3 },
      { rows: 9, inDim: 100, outDim: 12, epilogue: 'gelu', tiling: SMALL, scale: 3 },
      { rows: 33, inDim: 36, outDim: 68, epilogue: 'residual', tiling: WIDE },
      { rows: 1, inDim: 4, outDim: 4, epilogue: 'residual', tiling: SMALL },
      // The chooser's large and medium blocks (64 × 128 of 8 × 8, 64 × 64 of 4 × 4), partly filled.
      { rows: 130, inDim: 20, outDim: 132, epilogue: 'none', tiling: VISION_LINEAR_LARGE },
      { rows: 67, inDim: 36, outDim: 68, epilogue: 'gelu', tiling: VISION_LINEAR_MEDIUM },
      // Two workgroup buffers (one barrier per k tile), k not a multiple of the tile.
      { rows: 37, inDim: 44, outDim: 52, epilogue: 'residual', tiling: { ...SMALL, stages: 2 } },
    ];
    for (const c of cases) {
      const { got, want } = await run(c);
      expect(compareArrays(got, want).maxAbs, JSON.stringify(c)).toBeLessThan(MAX_ABS);
    }
  });

  it('stores f16 activations and weights (packed pairs), computing in f32', async () => {
    const { got, want } = await run({ rows: 21, inDim: 28, outDim: 40, epilogue: 'residual', tiling: SMALL, f16: true });
    expect(compareArrays(got, want).maxAbs).toBeLessThan(MAX_ABS_F16);
  });

  it('chooses the largest block that fits the workgroup limits', () => {
    const big = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupsPerDimension: 65535 };
    const small = { ...big, maxComputeWorkgroupStorageSize: 4096, maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeX: 64, maxComputeWorkgroupSizeY: 64 };
    expect(VISION_LINEAR_TILINGS.every((t) => visionLinearTilingFits(t, big))).toBe(true);
    expect(chooseVisionLinearTiling({ rows: 12288, inDim: 1280, outDim: 5120 }, big)).toBe(VISION_LINEAR_LARGE);
    expect(chooseVisionLinearTiling({ rows: 1024, inDim: 1280, outDim: 1280 }, { ...big, maxComputeWorkgroupStorageSize: 8192 })).toBe(VISION_LINEAR_MEDIUM);
    expect(chooseVisionLinearTiling({ rows: 12288, inDim: 1280, outDim: 5120 }, small)).toBe(VISION_LINEAR_SMALL);
    expect(visionLinearTilingFits(VISION_LINEAR_SMALL, small)).toBe(true);
    expect(() => chooseVisionLinearTiling({ rows: 64, inDim: 64, outDim: 64 }, { ...small, maxComputeWorkgroupStorageSize: 256 })).toThrow(/No vision-linear tiling fits/);
  });

  it('rejects dimensions that are not multiples of 4 and undersized buffers', async () => {
    const { device } = await testGpuContext();
    kernels ??= new KernelCache(device);
    const b = createStorageBuffer(device, 'b', 256);
    const pass = device.createCommandEncoder().beginComputePass();
    expect(() => encodeVisionLinear(device, kernels!, pass, { x: b, weight: b, y: b }, { rows: 2, inDim: 6, outDim: 4 })).toThrow(/multiples of 4/);
    expect(() => encodeVisionLinear(device, kernels!, pass, { x: b, weight: b, y: b }, { rows: 64, inDim: 8, outDim: 8 })).toThrow(/buffer x holds 256 bytes/);
    pass.end();
    b.destroy();
  });
});
