/**
 * The attention and sampler parts of bench/int4-gemv.bench.ts (kept apart for size): wall-clock timings on the
 * bench's device, reported through `TimingEnv.report` into the same JSON.
 * - measureAttention: the decode attention that ships (one dispatch per layer: RoPE + KV-cache append fused in
 *   front, split-K chunks merged by the last workgroup of each head) at several positions, with its chooser's
 *   chunking and forced chunk lengths 32 … 256, at the device's default workgroup size and at 128.
 * - checkAttention: the fused merge's cross-workgroup hand-off on this device, repeated dispatches against the
 *   plain-TS reference.
 * - measureSampler: the GPU sampler over 102400 logits.
 * `quick` (SwiftShader smoke runs): 4 heads, 256 positions, 2 layers, a 4096-token vocabulary.
 * The baselines removed from the product (the rope dispatch + 'fixed-64' split of 78039df, the two-pass 'adaptive'
 * split of run 6) are no longer measured; their numbers stay in bench/results (int4-gemv-h200-run*.json) and
 * bench/BENCH.md "Decode-step kernels", and their code in git at commit 3056313.
 */
import { createStorageBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import type { KernelCache } from '../src/gpu/kernel';
import { type SamplingOptions, validateSamplingOptions } from '../src/protocol/sampling-options';
import { randomFloats } from '../src/testing/compare';
import { readF32 } from '../src/testing/gpu-readback';
import { type DecodeAttention, prepareDecodeAttention } from '../shaders/decoder/decode-attention/decode-attention';
import { decodeAttentionReference } from '../shaders/decoder/decode-attention/decode-attention-reference';
import { DecodeStepUniform } from '../shaders/decoder/decode-attention/decode-step-uniform';
import { llamaRopeTable } from '../shaders/decoder/decode-attention/llama-rope-table';
import { GpuSampler } from '../shaders/sampler/gpu-sampler';

export interface TimingEnv {
  readonly device: GPUDevice;
  readonly kernels: KernelCache;
  /** SwiftShader smoke run: tiny shapes. */
  readonly quick: boolean;
  /** A storage buffer of sizeBytes random bytes (seeded). */
  randomBytes(sizeBytes: number, seed: number): GPUBuffer;
  /** Median wall-clock ms of recording `dispatches` into one pass and waiting for the queue. */
  timeChain(dispatches: readonly { record(pass: GPUComputePassEncoder): void }[], repeats: number): Promise<{ medianMs: number }>;
  report(entry: { name: string; medianMs: number; gbPerS?: number }): void;
}

/** Sarashina2-7B attention: 32 heads × 128 (no GQA), rope theta 10000, 4096 cached positions; quick: 4 heads, 256. */
const HEAD_DIM = 128;
const headsOf = (quick: boolean): number => (quick ? 4 : 32);
const maxLenOf = (quick: boolean): number => (quick ? 256 : 4096);

/** The qkv buffer, rope tables and step uniform one token's attention reads, as the decode step lays them out. */
function attentionInputs(device: GPUDevice, quick: boolean, qkvData?: Float32Array) {
  const heads = headsOf(quick);
  const maxLen = maxLenOf(quick);
  const width = heads * HEAD_DIM;
  const table = llamaRopeTable({ theta: 10000, headDim: HEAD_DIM, maxLen });
  return {
    table,
    step: new DecodeStepUniform(device),
    qkv: qkvData ? uploadBuffer(device, 'qkv', qkvData) : createStorageBuffer(device, 'qkv', 3 * width * 4),
    cos: uploadBuffer(device, 'cos', table.cos),
    sin: uploadBuffer(device, 'sin', table.sin),
    out: createStorageBuffer(device, 'attn-out', width * 4),
    shape: { heads, kvHeads: heads, headDim: HEAD_DIM, maxLen },
  };
}

/**
 * Decode attention, 32 layers of 32 heads × 128 over a 4096-position cache, at
 * p = 299, 999, 1999, 3499, 4095: the chooser's chunking and chunks of 32 … 256 positions, at the default
 * workgroup size (256 where the device's limits allow it) and at 128. KV bytes read = 2 · layers · 32 · (p + 1) · 128 · 4.
 */
export async function measureAttention(env: TimingEnv): Promise<void> {
  const { device, kernels, quick } = env;
  const io = attentionInputs(device, quick);
  const { heads, maxLen } = io.shape;
  const layerCount = quick ? 2 : 32;
  const cacheBytes = heads * maxLen * HEAD_DIM * 4;
  const caches = Array.from({ length: layerCount }, (_, l) => [env.randomBytes(cacheBytes, 10000 + l), env.randomBytes(cacheBytes, 20000 + l)] as const);
  const layersOf = (workgroupSize?: 128): DecodeAttention[] =>
    caches.map(([kCache, vCache]) =>
      prepareDecodeAttention(kernels, { qkv: io.qkv, step: io.step.buffer, kCache, vCache, cos: io.cos, sin: io.sin, out: io.out }, io.shape, {
        maxChunks: 256,
        ...(workgroupSize ? { workgroupSize } : {}),
      }),
    );
  // The default workgroup size as prepareDecodeAttention picks it (256 where its ≈ 17.1 KiB of workgroup arrays fit).
  const limits = device.limits;
  const defaultWg = limits.maxComputeWorkgroupStorageSize >= 18 * 1024 && limits.maxComputeInvocationsPerWorkgroup >= 256 && limits.maxComputeWorkgroupSizeX >= 256 ? 256 : 128;
  const variants: [string, DecodeAttention[]][] = [[`wg${defaultWg} (default)`, layersOf()]];
  if (defaultWg !== 128) variants.push(['wg128', layersOf(128)]);
  const runs = variants.flatMap(([name, list]) => [
    { label: `${name}, chooser`, record: (pass: GPUComputePassEncoder, p: number) => list.forEach((a) => a.record(pass, p)) },
    ...[32, 64, 128, 256].map((chunkLength) => ({
      label: `${name}, chunks of ${chunkLength}`,
      record: (pass: GPUComputePassEncoder, p: number) => list.forEach((a) => a.record(pass, p, { chunks: Math.ceil((p + 1) / chunkLength) })),
    })),
  ]);
  const positions = quick ? [99, maxLen - 1] : [299, 999, 1999, 3499, maxLen - 1];
  for (const position of positions) {
    io.step.setPosition(position);
    for (const run of runs) {
      const { medianMs } = await env.timeChain([{ record: (pass) => run.record(pass, position) }], quick ? 3 : 10);
      const kvBytes = 2 * layerCount * heads * (position + 1) * HEAD_DIM * 4;
      const gbPerS = kvBytes / (medianMs / 1000) / 1e9;
      env.report({ name: `decode attention ${run.label}, ${layerCount} layers, p=${position}`, medianMs, gbPerS });
      console.log(`decode attention ${run.label.padEnd(24)} ${layerCount} layers p=${String(position).padStart(4)}: ${medianMs.toFixed(3)} ms, KV ${gbPerS.toFixed(0)} GB/s`);
    }
  }
  for (const [, list] of variants) for (const a of list) a.destroy();
  for (const b of [...caches.flat(), io.qkv, io.cos, io.sin, io.out]) b.destroy();
  io.step.destroy();
}

/** The GPU sampler over 102400 logits (incl. the 4-byte readback), three sampling settings, median of 10. */
export async function measureSampler(env: TimingEnv): Promise<void> {
  const { device, kernels, quick } = env;
  const vocab = quick ? 4096 : 102400;
  const logits = uploadBuffer(device, 'logits', Float32Array.from({ length: vocab }, (_, i) => Math.sin(i * 12.9898) * 8));
  const sampler = new GpuSampler(device, kernels, { vocab, maxPreviousIds: 4096 });
  sampler.addPreviousIds(Array.from({ length: 300 }, (_, i) => i * 17));
  const samplingCases: [string, SamplingOptions][] = [
    ['greedy', { temperature: 0 }],
    ['temperature 0.7, top-p 0.9, penalty 1.1', { temperature: 0.7, topP: 0.9, repetitionPenalty: 1.1, seed: 1 }],
    ['temperature 1, top-k 50, top-p 0.95', { temperature: 1, topK: 50, topP: 0.95, seed: 2 }],
  ];
  for (const [name, options] of samplingCases) {
    validateSamplingOptions(options);
    const times: number[] = [];
    for (let r = 0; r < (quick ? 4 : 12); r++) {
      const t = performance.now();
      await sampler.sample(logits, options, r);
      if (r >= 2) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const medianMs = times[Math.floor(times.length / 2)] ?? NaN;
    env.report({ name: `sampler (vocab ${vocab}, incl. 4-byte readback): ${name}`, medianMs });
    console.log(`sampler ${name}: ${medianMs.toFixed(3)} ms`);
  }
  sampler.destroy();
  logits.destroy();
}

/**
 * The fused merge's cross-workgroup hand-off on this device. One layer of 32 heads × 128 over 4096 positions
 * (random f32 in [-1, 1], keys × 3), at p = 0, 299, 999, 1999, 3499, 4095 with the chooser's chunks and with the
 * most chunks (256): `repeats` dispatches in one submit, each output copied aside, compared with the f64
 * reference (a stale or missing partial shows as a large difference; f32 rounding stays far below 1e-4).
 * Reports the largest difference and the count of outputs off by more than 1e-4. (Run 7 compared against the
 * two-pass kernel instead, which is gone.)
 */
export async function checkAttention(env: TimingEnv, repeats: number): Promise<void> {
  const { device, kernels, quick } = env;
  const heads = headsOf(quick);
  const maxLen = maxLenOf(quick);
  const width = heads * HEAD_DIM;
  const qkvData = randomFloats(3 * width, 71);
  const io = attentionInputs(device, quick, qkvData);
  const kData = Float32Array.from(randomFloats(heads * maxLen * HEAD_DIM, 72), (v) => v * 3);
  const vData = randomFloats(heads * maxLen * HEAD_DIM, 73);
  const kCache = uploadBuffer(device, 'check-k', kData);
  const vCache = uploadBuffer(device, 'check-v', vData);
  const copies = createStorageBuffer(device, 'check-copies', repeats * width * 4);
  const attention = prepareDecodeAttention(kernels, { qkv: io.qkv, step: io.step.buffer, kCache, vCache, cos: io.cos, sin: io.sin, out: io.out }, io.shape, { maxChunks: 256 });
  const positions = quick ? [0, 99, maxLen - 1] : [0, 299, 999, 1999, 3499, maxLen - 1];
  for (const position of positions) {
    // The kernel appends this token's k and v at row p, as the reference does to its copies of the caches.
    const want = decodeAttentionReference(qkvData, kData, vData, io.table, io.shape, position);
    for (const chunks of [undefined, 256]) {
      io.step.setPosition(position);
      const encoder = device.createCommandEncoder();
      for (let r = 0; r < repeats; r++) {
        const pass = encoder.beginComputePass();
        attention.record(pass, position, chunks === undefined ? {} : { chunks });
        pass.end();
        encoder.copyBufferToBuffer(io.out, 0, copies, r * width * 4, width * 4);
      }
      device.queue.submit([encoder.finish()]);
      const got = await readF32(device, copies, repeats * width);
      let maxDiff = 0;
      let bad = 0;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs((got[i] ?? NaN) - (want[i % width] ?? NaN));
        if (!(d <= 1e-4)) bad++;
        if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
      }
      const label = `fused attention check p=${position} chunks=${chunks ?? 'chooser'}: ${repeats} dispatches`;
      env.report({ name: `${label}, max |gpu − reference| ${maxDiff.toExponential(2)}, outputs off > 1e-4: ${bad}`, medianMs: 0 });
      console.log(`${label}: max diff ${maxDiff.toExponential(2)}, ${bad} of ${got.length} off > 1e-4`);
    }
  }
  attention.destroy();
  for (const b of [io.qkv, io.cos, io.sin, io.out, kCache, vCache, copies]) b.destroy();
  io.step.destroy();
}
