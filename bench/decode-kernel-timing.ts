/**
 * The attention and sampler parts of bench/int4-gemv.bench.ts (kept apart for size): wall-clock timings on the
 * bench's device, reported through `TimingEnv.report` into the same JSON.
 */
import { createStorageBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import type { KernelCache } from '../src/gpu/kernel';
import { GpuSampler } from '../src/generate/sampler';
import type { SamplingOptions } from '../src/generate/sampling-options';
import { type DecodeAttention, type DecodeAttentionSplit, prepareDecodeAttention } from '../src/model/kernels/decode-attention';
import { DecodeStepUniform } from '../src/model/kernels/decode-step-uniform';
import { llamaRopeTable } from '../src/model/kernels/llama-rope-table';
import { prepareRopeAppend } from '../src/model/kernels/rope';

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
 * p = 299, 999, 1999, 3499, 4095: the decode step's path before (rope dispatch + fixed split) and now (rope
 * fused, adaptive split), the fixed split alone, and the new kernel at forced chunk lengths 16 … 256.
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
  const layersOf = (options: { split: DecodeAttentionSplit; rope?: boolean }): DecodeAttention[] =>
    Array.from({ length: layerCount }, (_, l) =>
      prepareDecodeAttention(device, kernels, { q, step: step.buffer, ...kvOf(l), out }, shape, {
        split: options.split,
        maxChunks: 256,
        ...(options.rope ? { rope: { cos, sin, kOffset: heads * headDim, vOffset: 2 * heads * headDim } } : {}),
      }),
    );
  const fixed = layersOf({ split: 'fixed-64' });
  const fused = layersOf({ split: 'adaptive', rope: true });
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
    { label: 'fixed-64 alone', record: (pass, p) => fixed.forEach((a) => a.record(pass, p)) },
    { label: 'new: rope fused, chooser', record: (pass, p) => fused.forEach((a) => a.record(pass, p)) },
    ...[16, 32, 64, 128, 256].map((chunkLength) => ({
      label: `new, chunks of ${chunkLength}`,
      record: (pass: GPUComputePassEncoder, p: number) => fused.forEach((a) => a.record(pass, p, { chunks: Math.ceil((p + 1) / chunkLength) })),
    })),
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
  for (const d of [...fixed, ...fused, ...ropes]) d.destroy();
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

