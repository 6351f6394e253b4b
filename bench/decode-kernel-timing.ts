/**
 * The attention and sampler parts of bench/int4-gemv.bench.ts (kept apart for size): wall-clock timings on the
 * bench's device, reported through `TimingEnv.report` into the same JSON.
 */
import { createStorageBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import type { KernelCache } from '../src/gpu/kernel';
import { GpuSampler } from '../shaders/sampler/gpu-sampler';
import type { SamplingOptions } from '../src/protocol/sampling-options';
import { type DecodeAttention, type DecodeAttentionSplit, prepareDecodeAttention } from '../src/model/kernels/decode-attention';
import { DecodeStepUniform } from '../src/model/kernels/decode-step-uniform';
import { llamaRopeTable } from '../src/model/kernels/llama-rope-table';
import { readF32 } from '../src/model/kernels/gpu-test-helpers';
import { prepareRopeAppend } from '../src/model/kernels/rope';
import { randomFloats } from '../src/testing/compare';

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

/**
 * Decode attention, 32 layers of 32 heads × 128 over a 4096-position cache (2 layers of 256 with `quick`), at
 * p = 299, 999, 1999, 3499, 4095: the decode step's path of 78039df (rope dispatch + fixed split), of run 6 (rope
 * fused, adaptive split, combine dispatch) and now (the merge fused into the same dispatch), the fused kernel
 * at forced chunk lengths 32 … 256, and with 256-invocation workgroups.
 */
export async function measureAttention(env: TimingEnv): Promise<void> {
  const { device, kernels, quick } = env;
  const heads = 32;
  const headDim = 128;
  const maxLen = quick ? 256 : 4096;
  const layerCount = quick ? 2 : 32;
  const cacheBytes = heads * maxLen * headDim * 4;
  const step = new DecodeStepUniform(device);
  // The packed qkv buffer (q | k | v before RoPE) and the rope tables, as in the decode step.
  const q = createStorageBuffer(device, 'qkv', 3 * heads * headDim * 4);
  const table = llamaRopeTable({ theta: 10000, headDim, maxLen });
  const cos = uploadBuffer(device, 'cos', table.cos);
  const sin = uploadBuffer(device, 'sin', table.sin);
  const out = createStorageBuffer(device, 'attn-out', heads * headDim * 4);
  const caches: GPUBuffer[] = [];
  for (let l = 0; l < layerCount; l++) {
    caches.push(env.randomBytes(cacheBytes, 10000 + l), env.randomBytes(cacheBytes, 20000 + l));
  }
  const shape = { heads, kvHeads: heads, headDim, maxLen };
  const kvOf = (l: number) => ({ kCache: caches[2 * l] as GPUBuffer, vCache: caches[2 * l + 1] as GPUBuffer });
  const layersOf = (options: { split: DecodeAttentionSplit; rope?: boolean; workgroupSize?: 128 | 256 }): DecodeAttention[] =>
    Array.from({ length: layerCount }, (_, l) =>
      prepareDecodeAttention(device, kernels, { q, step: step.buffer, ...kvOf(l), out }, shape, {
        split: options.split,
        maxChunks: 256,
        ...(options.workgroupSize ? { workgroupSize: options.workgroupSize } : {}),
        ...(options.rope ? { rope: { cos, sin, kOffset: heads * headDim, vOffset: 2 * heads * headDim } } : {}),
      }),
    );
  const fixed = layersOf({ split: 'fixed-64' });
  const twoPass = layersOf({ split: 'adaptive', rope: true });
  const fused = layersOf({ split: 'fused', rope: true });
  const fused256 = layersOf({ split: 'fused', rope: true, workgroupSize: 256 });
  const ropes = Array.from({ length: layerCount }, (_, l) => prepareRopeAppend(device, kernels, { qkv: q, step: step.buffer, ...kvOf(l), cos, sin }, shape));
  const positions = quick ? [99, maxLen - 1] : [299, 999, 1999, 3499, maxLen - 1];
  // The decode step's attention before (rope dispatch + fixed split: 3 dispatches per layer) and now (rope fused,
  // adaptive split: 2), the fixed split alone, and the new kernel at forced chunk lengths.
  const runs: { label: string; record: (pass: GPUComputePassEncoder, position: number) => void }[] = [
    {
      label: 'old: rope + fixed-64',
      record: (pass, p) =>
        fixed.forEach((a, l) => {
          ropes[l]?.record(pass);
          a.record(pass, p);
        }),
    },
    { label: 'run 6: two-pass, chooser', record: (pass, p) => twoPass.forEach((a) => a.record(pass, p)) },
    { label: 'now: fused merge, chooser', record: (pass, p) => fused.forEach((a) => a.record(pass, p)) },
    { label: 'fused wg256, chooser', record: (pass, p) => fused256.forEach((a) => a.record(pass, p)) },
    ...[32, 64, 128, 256].flatMap((chunkLength) =>
      (
        [
          ['two-pass', twoPass],
          ['fused', fused],
          ['fused wg256', fused256],
        ] as const
      ).map(([name, list]) => ({
        label: `${name}, chunks of ${chunkLength}`,
        record: (pass: GPUComputePassEncoder, p: number) => list.forEach((a) => a.record(pass, p, { chunks: Math.ceil((p + 1) / chunkLength) })),
      })),
    ),
  ];
  for (const position of positions) {
    step.setPosition(position);
    for (const run of runs) {
      const { medianMs } = await env.timeChain([{ record: (pass) => run.record(pass, position) }], 10);
      const kvBytes = 2 * layerCount * heads * (position + 1) * headDim * 4;
      const gbPerS = kvBytes / (medianMs / 1000) / 1e9;
      env.report({ name: `decode attention ${run.label}, ${layerCount} layers, p=${position}`, medianMs, gbPerS });
      console.log(`decode attention ${run.label.padEnd(26)} ${layerCount} layers p=${String(position).padStart(4)}: ${medianMs.toFixed(3)} ms, KV ${gbPerS.toFixed(0)} GB/s`);
    }
  }
  for (const d of [...fixed, ...twoPass, ...fused, ...fused256, ...ropes]) d.destroy();
  for (const b of [...caches, q, out, cos, sin]) b.destroy();
  step.destroy();
}

/** The GPU sampler over 102400 logits (incl. the 4-byte readback), three sampling settings. */
export async function measureSampler(env: TimingEnv): Promise<void> {
  const { device, kernels } = env;
  const vocab = 102400;
  const logits = uploadBuffer(device, 'logits', Float32Array.from({ length: vocab }, (_, i) => Math.sin(i * 12.9898) * 8));
  const sampler = new GpuSampler(device, kernels, { vocab, maxPreviousIds: 4096 });
  sampler.addPreviousIds(Array.from({ length: 300 }, (_, i) => i * 17));
  const samplingCases: [string, SamplingOptions][] = [
    ['greedy', { temperature: 0 }],
    ['temperature 0.7, top-p 0.9, penalty 1.1', { temperature: 0.7, topP: 0.9, repetitionPenalty: 1.1, seed: 1 }],
    ['temperature 1, top-k 50, top-p 0.95', { temperature: 1, topK: 50, topP: 0.95, seed: 2 }],
  ];
  for (const [name, options] of samplingCases) {
    const times: number[] = [];
    for (let r = 0; r < 12; r++) {
      const t = performance.now();
      await sampler.sample(logits, options, r);
      if (r >= 2) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const medianMs = times[Math.floor(times.length / 2)] ?? NaN;
    env.report({ name: `sampler (vocab 102400, incl. 4-byte readback): ${name}`, medianMs });
    console.log(`sampler ${name}: ${medianMs.toFixed(3)} ms`);
  }
  sampler.destroy();
  logits.destroy();
}


/**
 * Run 7: the fused merge's cross-workgroup hand-off on this device. One layer of 32 heads × 128 over 4096 positions
 * (random f32 in [-1, 1], keys × 3), at p = 0, 299, 999, 1999, 3499, 4095 with the chooser's chunks and with the
 * most chunks (256): the two-pass kernel's output once, then `repeats` fused dispatches, each output copied aside,
 * compared with it (same chunk partials; only the merge order differs, so a stale or missing partial shows as a
 * large difference). Reports the largest difference and the count of outputs off by more than 1e-4.
 */
export async function checkFusedAttention(env: TimingEnv, repeats: number): Promise<void> {
  const { device, kernels, quick } = env;
  const heads = 32;
  const headDim = 128;
  const maxLen = quick ? 256 : 4096;
  const shape = { heads, kvHeads: heads, headDim, maxLen };
  const width = heads * headDim;
  const step = new DecodeStepUniform(device);
  const q = uploadBuffer(device, 'check-q', randomFloats(width, 71));
  const kCache = uploadBuffer(device, 'check-k', Float32Array.from(randomFloats(heads * maxLen * headDim, 72), (v) => v * 3));
  const vCache = uploadBuffer(device, 'check-v', randomFloats(heads * maxLen * headDim, 73));
  const refOut = createStorageBuffer(device, 'check-ref', width * 4);
  const fusedOut = createStorageBuffer(device, 'check-fused', width * 4);
  const copies = createStorageBuffer(device, 'check-copies', repeats * width * 4);
  const twoPass = prepareDecodeAttention(device, kernels, { q, step: step.buffer, kCache, vCache, out: refOut }, shape, { split: 'adaptive', maxChunks: 256 });
  const fused = prepareDecodeAttention(device, kernels, { q, step: step.buffer, kCache, vCache, out: fusedOut }, shape, { split: 'fused', maxChunks: 256 });
  const positions = quick ? [0, 99, maxLen - 1] : [0, 299, 999, 1999, 3499, maxLen - 1];
  for (const position of positions) {
    for (const chunks of [undefined, 256]) {
      step.setPosition(position);
      const encoder = device.createCommandEncoder();
      let pass = encoder.beginComputePass();
      twoPass.record(pass, position, chunks === undefined ? {} : { chunks });
      pass.end();
      for (let r = 0; r < repeats; r++) {
        pass = encoder.beginComputePass();
        fused.record(pass, position, chunks === undefined ? {} : { chunks });
        pass.end();
        encoder.copyBufferToBuffer(fusedOut, 0, copies, r * width * 4, width * 4);
      }
      device.queue.submit([encoder.finish()]);
      const want = await readF32(device, refOut, width);
      const got = await readF32(device, copies, repeats * width);
      let maxDiff = 0;
      let bad = 0;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs((got[i] ?? NaN) - (want[i % width] ?? NaN));
        if (!(d <= 1e-4)) bad++;
        if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
      }
      const label = `fused merge check p=${position} chunks=${chunks ?? 'chooser'}: ${repeats} dispatches`;
      env.report({ name: `${label}, max |fused − two-pass| ${maxDiff.toExponential(2)}, outputs off > 1e-4: ${bad}`, medianMs: 0 });
      console.log(`${label}: max diff ${maxDiff.toExponential(2)}, ${bad} of ${got.length} off > 1e-4`);
    }
  }
  twoPass.destroy();
  fused.destroy();
  for (const b of [q, kCache, vCache, refOut, fusedOut, copies]) b.destroy();
  step.destroy();
}
