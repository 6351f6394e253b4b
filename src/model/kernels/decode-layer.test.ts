/**
 * Composition test: one Llama decoder layer built from the decode kernels, three decode steps in a row
 * (so the cache append and attention over earlier positions are exercised), against the plain-TS
 * references composed the same way in f64. Also the wiring example for the decoder: packed qkv and
 * gate+up weights, residual adds fused into o_proj / down_proj, one step uniform.
 */
import { describe, expect, it } from 'vitest';
import { createStorageBuffer, uploadBuffer } from '../../gpu/gpu-buffers';
import { KernelCache } from '../../gpu/kernel';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import { decodeAttentionReference, prepareDecodeAttention } from './decode-attention';
import { DecodeStepUniform } from './decode-step-uniform';
import { swigluReference } from './elementwise';
import { readF32 } from './gpu-test-helpers';
import { chooseGemvVariant, int4GemvReference, prepareInt4Gemv } from './int4-gemv';
import { llamaRopeTable } from './llama-rope-table';
import { prepareRmsNorm, rmsNormReference } from './rms-norm';
import { prepareRopeAppend, ropeAppendReference } from './rope';

const HIDDEN = 64;
const HEADS = 2;
const HEAD_DIM = 32;
const MLP = 96;
const MAX_LEN = 8;
const EPS = 1e-5;

function quantized(n: number, k: number, seed: number): { q: Uint8Array; s: Float32Array } {
  const q = Uint8Array.from(randomFloats((n * k) / 2, seed), (v) => Math.floor((v + 1) * 128) & 255);
  const s = Float32Array.from(randomFloats((n * k) / 32, seed + 1), (v) => 0.02 + 0.03 * Math.abs(v));
  return { q, s };
}

describe('one Llama decoder layer from the decode kernels', () => {
  it('matches the composed references over three decode steps (max-abs 1e-4 on the hidden state)', async () => {
    const ctx = await testGpuContext();
    const { device } = ctx;
    const kernels = new KernelCache(device);
    const qkvW = quantized(3 * HIDDEN, HIDDEN, 1);
    const oW = quantized(HIDDEN, HIDDEN, 3);
    const gateUpW = quantized(2 * MLP, HIDDEN, 5);
    const downW = quantized(HIDDEN, MLP, 7);
    const norm1 = Float32Array.from(randomFloats(HIDDEN, 9), (v) => 1 + 0.5 * v);
    const norm2 = Float32Array.from(randomFloats(HIDDEN, 10), (v) => 1 + 0.5 * v);
    const table = llamaRopeTable({ theta: 10000, headDim: HEAD_DIM, maxLen: MAX_LEN });
    const caps = ctx.capabilities;
    const b = {
      h: createStorageBuffer(device, 'h', HIDDEN * 4),
      xn: createStorageBuffer(device, 'xn', HIDDEN * 4),
      qkv: createStorageBuffer(device, 'qkv', 3 * HIDDEN * 4),
      attn: createStorageBuffer(device, 'attn', HIDDEN * 4),
      act: createStorageBuffer(device, 'act', MLP * 4),
      kCache: createStorageBuffer(device, 'k-cache', HEADS * MAX_LEN * HEAD_DIM * 4),
      vCache: createStorageBuffer(device, 'v-cache', HEADS * MAX_LEN * HEAD_DIM * 4),
      qkvQ: uploadBuffer(device, 'qkv.q', qkvW.q),
      qkvS: uploadBuffer(device, 'qkv.s', qkvW.s),
      oQ: uploadBuffer(device, 'o.q', oW.q),
      oS: uploadBuffer(device, 'o.s', oW.s),
      guQ: uploadBuffer(device, 'gu.q', gateUpW.q),
      guS: uploadBuffer(device, 'gu.s', gateUpW.s),
      dQ: uploadBuffer(device, 'd.q', downW.q),
      dS: uploadBuffer(device, 'd.s', downW.s),
      norm1: uploadBuffer(device, 'norm1', norm1),
      norm2: uploadBuffer(device, 'norm2', norm2),
      cos: uploadBuffer(device, 'cos', table.cos),
      sin: uploadBuffer(device, 'sin', table.sin),
    };
    const step = new DecodeStepUniform(device);
    const gemv = (n: number, k: number, epilogue: 'store' | 'add' | 'swiglu') => chooseGemvVariant(caps, { n, k, epilogue });
    const attention = prepareDecodeAttention(device, kernels, { q: b.qkv, step: step.buffer, kCache: b.kCache, vCache: b.vCache, out: b.attn }, {
      heads: HEADS,
      kvHeads: HEADS,
      headDim: HEAD_DIM,
      maxLen: MAX_LEN,
    });
    const dispatches = [
      prepareRmsNorm(device, kernels, { x: b.h, weight: b.norm1, y: b.xn }, { rows: 1, dim: HIDDEN, eps: EPS }),
      prepareInt4Gemv(device, kernels, { x: b.xn, qweight: b.qkvQ, scales: b.qkvS, y: b.qkv }, { n: 3 * HIDDEN, k: HIDDEN, epilogue: 'store' }, gemv(3 * HIDDEN, HIDDEN, 'store')),
      prepareRopeAppend(device, kernels, { qkv: b.qkv, step: step.buffer, kCache: b.kCache, vCache: b.vCache, cos: b.cos, sin: b.sin }, {
        heads: HEADS,
        kvHeads: HEADS,
        headDim: HEAD_DIM,
        maxLen: MAX_LEN,
      }),
      'attention' as const,
      prepareInt4Gemv(device, kernels, { x: b.attn, qweight: b.oQ, scales: b.oS, y: b.h }, { n: HIDDEN, k: HIDDEN, epilogue: 'add' }, gemv(HIDDEN, HIDDEN, 'add')),
      prepareRmsNorm(device, kernels, { x: b.h, weight: b.norm2, y: b.xn }, { rows: 1, dim: HIDDEN, eps: EPS }),
      prepareInt4Gemv(
        device,
        kernels,
        { x: b.xn, qweight: b.guQ, scales: b.guS, qweight2: b.guQ, scales2: b.guS, y: b.act },
        { n: MLP, k: HIDDEN, epilogue: 'swiglu', upRowOffset: MLP },
        gemv(MLP, HIDDEN, 'swiglu'),
      ),
      prepareInt4Gemv(device, kernels, { x: b.act, qweight: b.dQ, scales: b.dS, y: b.h }, { n: HIDDEN, k: MLP, epilogue: 'add' }, gemv(HIDDEN, MLP, 'add')),
    ];

    // Reference state.
    const kRef = new Float32Array(HEADS * MAX_LEN * HEAD_DIM);
    const vRef = new Float32Array(HEADS * MAX_LEN * HEAD_DIM);
    const shape = { heads: HEADS, kvHeads: HEADS, headDim: HEAD_DIM, maxLen: MAX_LEN };
    for (let position = 0; position < 3; position++) {
      const h0 = randomFloats(HIDDEN, 100 + position);
      device.queue.writeBuffer(b.h, 0, new Float32Array(h0));
      step.setPosition(position);
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      for (const d of dispatches) {
        if (d === 'attention') attention.record(pass, position);
        else d.record(pass);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = await readF32(device, b.h, HIDDEN);

      const xn = Float32Array.from(rmsNormReference(h0, norm1, { rows: 1, dim: HIDDEN, eps: EPS }).y);
      const qkv = Float32Array.from(int4GemvReference(xn, qkvW.q, qkvW.s, { n: 3 * HIDDEN, k: HIDDEN }));
      const rotated = Float32Array.from(ropeAppendReference(qkv, kRef, vRef, table, shape, position));
      const attn = Float32Array.from(decodeAttentionReference(rotated, kRef, vRef, shape, position));
      const o = int4GemvReference(attn, oW.q, oW.s, { n: HIDDEN, k: HIDDEN });
      const h1 = Float32Array.from(h0, (v, i) => v + (o[i] ?? 0));
      const xn2 = Float32Array.from(rmsNormReference(h1, norm2, { rows: 1, dim: HIDDEN, eps: EPS }).y);
      const gu = int4GemvReference(xn2, gateUpW.q, gateUpW.s, { n: 2 * MLP, k: HIDDEN });
      const act = Float32Array.from(swigluReference(gu.subarray(0, MLP), gu.subarray(MLP)));
      const down = int4GemvReference(act, downW.q, downW.s, { n: HIDDEN, k: MLP });
      const want = Float64Array.from(h1, (v, i) => v + (down[i] ?? 0));

      const stats = compareArrays(got, want);
      expect(stats.maxAbs, `step ${position}`).toBeLessThan(1e-4);
      // The layer changed the state substantially (a skipped kernel would show).
      expect(compareArrays(want, h0).maxAbs).toBeGreaterThan(0.1);
    }
    for (const d of dispatches) if (d !== 'attention') d.destroy();
    attention.destroy();
    step.destroy();
    for (const buffer of Object.values(b)) buffer.destroy();
  });
});
