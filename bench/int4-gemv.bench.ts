/**
 * int4 GEMV bandwidth on Llama-7B decode shapes (hidden 4096, MLP 11008), weights in MatMulNBits layout.
 *
 * 1. Sweep: variants (reduction × workgroup size × rows) on a 9-layer chain of the 7 matrices of a layer
 *    (63 dispatches, ≈1.1 GB, like the 64-matrix chain in ../shared/gpu/README.md).
 * 2. The planner's variant on the full 32-layer chain (224 matrices, ≈4.05 GB: one decode step's GEMVs),
 *    as 7 separate GEMVs per layer; fused (q, k, v store; o add; gate+up SwiGLU; down add: 6 dispatches);
 *    and packed + fused (one [3·hidden] qkv matrix; o add; one packed [2·mlp] gate+up SwiGLU; down add: 4).
 * Each chain is recorded in one compute pass; time = wall clock from submit to onSubmittedWorkDone,
 * median of the repeats. Bytes = int4 weights + f32 scales read (x and y are negligible).
 * 3. Decode attention over a 4096-position cache and the GPU sampler over 102400 logits (wall clock).
 * Run here:  npx vite-node bench/int4-gemv.bench.ts -- --quick     (SwiftShader: tiny chain)
 * GPU:       node bench/gpu/bundle.mjs bench/int4-gemv.bench.ts, then on the device machine
 *            source .gpu/env.sh && "$NODE" bench/out/gpu-bundle/int4-gemv.mjs --out $OUT/int4-gemv.json
 */
import { writeFileSync } from 'node:fs';
import fillRandomWgsl from './gpu/fill-random.wgsl?raw';
import { benchGpuContext } from './gpu/bench-gpu';
import { createStorageBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import { GpuSampler } from '../src/generate/sampler';
import type { SamplingOptions } from '../src/generate/sampling-options';
import { type DecodeAttention, prepareDecodeAttention } from '../src/model/kernels/decode-attention';
import { DecodeStepUniform } from '../src/model/kernels/decode-step-uniform';
import { KernelCache } from '../src/gpu/kernel';
import { chooseGemvVariant, type GemvEpilogue, type GemvVariant, prepareInt4Gemv } from '../src/model/kernels/int4-gemv';
import type { PreparedKernel } from '../src/model/kernels/prepared-kernel';
import { prepareKernel } from '../src/model/kernels/prepared-kernel';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outPath = args[args.indexOf('--out') + 1] && args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
const HIDDEN = quick ? 256 : 4096;
const MLP = quick ? 704 : 11008;
const PEAK_BYTES_PER_S = 4.3e12; // a WGSL kernel streaming 1 GiB on the H200 (../shared/gpu/README.md)

console.log("requesting the GPU");
const ctx = await benchGpuContext();
const { device } = ctx;
const kernels = new KernelCache(device);
const FILL = { name: 'fill-random', code: fillRandomWgsl };

interface Matrix {
  readonly n: number;
  readonly k: number;
  readonly qweight: GPUBuffer;
  readonly scales: GPUBuffer;
}

function randomMatrix(n: number, k: number, seed: number): Matrix {
  const qweight = createStorageBuffer(device, `w${seed}`, (n * k) / 2);
  const scales = createStorageBuffer(device, `s${seed}`, (n * k) / 8);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const fills: PreparedKernel[] = [];
  for (const [buffer, words, s] of [[qweight, (n * k) / 8, seed * 2], [scales, (n * k) / 32, seed * 2 + 1]] as const) {
    const fill = prepareKernel(device, kernels, { kernel: FILL, params: new Uint32Array([words, s, 0, 0]), buffers: [buffer], workgroupCount: Math.ceil(words / 256) });
    fill.record(pass);
    fills.push(fill);
  }
  pass.end();
  device.queue.submit([encoder.finish()]);
  // Scales as random bits would hold NaN/Inf; the kernel's speed does not depend on values, but keep them finite.
  for (const f of fills) f.destroy();
  return { n, k, qweight, scales };
}

interface Layer {
  readonly q: Matrix;
  readonly k: Matrix;
  readonly v: Matrix;
  readonly o: Matrix;
  readonly gate: Matrix;
  readonly up: Matrix;
  readonly down: Matrix;
}

let seed = 1;
function makeLayers(count: number): Layer[] {
  return Array.from({ length: count }, () => ({
    q: randomMatrix(HIDDEN, HIDDEN, seed++),
    k: randomMatrix(HIDDEN, HIDDEN, seed++),
    v: randomMatrix(HIDDEN, HIDDEN, seed++),
    o: randomMatrix(HIDDEN, HIDDEN, seed++),
    gate: randomMatrix(MLP, HIDDEN, seed++),
    up: randomMatrix(MLP, HIDDEN, seed++),
    down: randomMatrix(HIDDEN, MLP, seed++),
  }));
}

const xHidden = createStorageBuffer(device, 'x-hidden', HIDDEN * 4);
const xMlp = createStorageBuffer(device, 'x-mlp', MLP * 4);
const yHidden = createStorageBuffer(device, 'y-hidden', HIDDEN * 4);
const yMlp = createStorageBuffer(device, 'y-mlp', MLP * 4);

interface PackedLayer {
  readonly qkv: Matrix;
  readonly o: Matrix;
  readonly gateUp: Matrix;
  readonly down: Matrix;
}

function makePackedLayers(count: number): PackedLayer[] {
  return Array.from({ length: count }, () => ({
    qkv: randomMatrix(3 * HIDDEN, HIDDEN, seed++),
    o: randomMatrix(HIDDEN, HIDDEN, seed++),
    gateUp: randomMatrix(2 * MLP, HIDDEN, seed++),
    down: randomMatrix(HIDDEN, MLP, seed++),
  }));
}

const yQkv = createStorageBuffer(device, 'y-qkv', 3 * HIDDEN * 4);

function packedChain(layers: PackedLayer[], plan: Plan): PreparedKernel[] {
  const out: PreparedKernel[] = [];
  for (const l of layers) {
    const gemv = (m: Matrix, x: GPUBuffer, y: GPUBuffer, epilogue: GemvEpilogue, n = m.n): void => {
      const shape = { n, k: m.k, epilogue, upRowOffset: epilogue === 'swiglu' ? n : 0 };
      const buffers = { x, y, qweight: m.qweight, scales: m.scales, qweight2: m.qweight, scales2: m.scales };
      out.push(prepareInt4Gemv(device, kernels, buffers, shape, plan(m, epilogue)));
    };
    gemv(l.qkv, xHidden, yQkv, 'store');
    gemv(l.o, xHidden, yHidden, 'add');
    gemv(l.gateUp, xHidden, yMlp, 'swiglu', MLP);
    gemv(l.down, xMlp, yHidden, 'add');
  }
  return out;
}

function layerBytes(layer: Layer | PackedLayer): number {
  return Object.values(layer).reduce((sum, m: Matrix) => sum + (m.n * m.k) / 2 + (m.n * m.k) / 8, 0);
}

type Plan = (m: Matrix, epilogue: GemvEpilogue) => GemvVariant;

function chain(layers: Layer[], plan: Plan, fused: boolean): PreparedKernel[] {
  const out: PreparedKernel[] = [];
  const gemv = (m: Matrix, x: GPUBuffer, y: GPUBuffer, epilogue: GemvEpilogue, up?: Matrix): void => {
    out.push(
      prepareInt4Gemv(
        device,
        kernels,
        { x, y, qweight: m.qweight, scales: m.scales, qweight2: up?.qweight, scales2: up?.scales },
        { n: m.n, k: m.k, epilogue },
        plan(m, epilogue),
      ),
    );
  };
  for (const l of layers) {
    for (const m of [l.q, l.k, l.v]) gemv(m, xHidden, yHidden, 'store');
    gemv(l.o, xHidden, yHidden, fused ? 'add' : 'store');
    if (fused) gemv(l.gate, xHidden, yMlp, 'swiglu', l.up);
    else for (const m of [l.gate, l.up]) gemv(m, xHidden, yMlp, 'store');
    gemv(l.down, xMlp, yHidden, fused ? 'add' : 'store');
  }
  return out;
}

async function timeChain(dispatches: PreparedKernel[], repeats: number): Promise<{ medianMs: number; recordMs: number }> {
  const times: number[] = [];
  let recordMs = 0;
  for (let r = 0; r < repeats + 2; r++) {
    const t0 = performance.now();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const d of dispatches) d.record(pass);
    pass.end();
    const commands = encoder.finish();
    const t1 = performance.now();
    device.queue.submit([commands]);
    await device.queue.onSubmittedWorkDone();
    const t2 = performance.now();
    if (r >= 2) {
      times.push(t2 - t1);
      recordMs += (t1 - t0) / repeats;
    }
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)] ?? NaN, recordMs };
}

interface Row {
  readonly name: string;
  readonly dispatches: number;
  readonly gigabytes: number;
  readonly medianMs: number;
  readonly gbPerS: number;
  readonly ofPeak: number;
  readonly recordMs: number;
}
const rows: Row[] = [];
const others: { name: string; medianMs: number }[] = [];
function writeResult(): void {
  if (outPath) writeFileSync(outPath, `${JSON.stringify(result(), null, 2)}\n`);
}

const result = () => ({
  bench: 'int4-gemv',
  date: new Date().toISOString(),
  commit: process.env.GIT_COMMIT ?? 'unknown',
  adapter: { vendor: ctx.capabilities.vendor, architecture: ctx.capabilities.architecture, description: ctx.capabilities.description },
  driver: process.env.GPU_DRIVER ?? 'unknown',
  card: process.env.GPU_NAME ?? 'unknown',
  peakBytesPerS: PEAK_BYTES_PER_S,
  plannerVariant: chooseGemvVariant(ctx.capabilities, { n: HIDDEN, k: HIDDEN, epilogue: 'store' }),
  rows,
  others,
});

async function measure(name: string, layers: Layer[] | PackedLayer[], plan: Plan, fused: boolean, repeats: number): Promise<Row> {
  const dispatches = 'qkv' in (layers[0] ?? {}) ? packedChain(layers as PackedLayer[], plan) : chain(layers as Layer[], plan, fused);
  const bytes = layers.reduce((s, l) => s + layerBytes(l), 0);
  const { medianMs, recordMs } = await timeChain(dispatches, repeats);
  for (const d of dispatches) d.destroy();
  const gbPerS = bytes / (medianMs / 1000) / 1e9;
  const row = { name, dispatches: dispatches.length, gigabytes: bytes / 1e9, medianMs, gbPerS, ofPeak: (gbPerS * 1e9) / PEAK_BYTES_PER_S, recordMs };
  rows.push(row);
  writeResult();
  console.log(`${name.padEnd(44)} ${String(row.dispatches).padStart(4)} disp ${row.gigabytes.toFixed(3)} GB ${medianMs.toFixed(3)} ms ${gbPerS.toFixed(0).padStart(5)} GB/s ${(row.ofPeak * 100).toFixed(1)} % (record ${recordMs.toFixed(2)} ms)`);
  return row;
}

/** Decode attention (32 layers × 2 passes, 32 heads × 128, cache 4096) and the sampler over 102400 logits. */
async function measureOthers(): Promise<void> {
  const heads = 32;
  const headDim = 128;
  const maxLen = quick ? 256 : 4096;
  const cacheBytes = heads * maxLen * headDim * 4;
  const step = new DecodeStepUniform(device);
  const q = createStorageBuffer(device, 'q', heads * headDim * 4);
  const out = createStorageBuffer(device, 'attn-out', heads * headDim * 4);
  const caches: GPUBuffer[] = [];
  const layers: DecodeAttention[] = [];
  for (let l = 0; l < (quick ? 2 : 32); l++) {
    const kCache = randomMatrix(8 * heads * headDim, maxLen, 10000 + l).qweight; // random bytes, the right size
    const vCache = randomMatrix(8 * heads * headDim, maxLen, 20000 + l).qweight;
    if (kCache.size < cacheBytes) throw new Error('cache too small');
    caches.push(kCache, vCache);
    layers.push(prepareDecodeAttention(device, kernels, { q, step: step.buffer, kCache, vCache, out }, { heads, kvHeads: heads, headDim, maxLen }));
  }
  for (const position of [299, maxLen - 1]) {
    step.setPosition(position);
    const times: number[] = [];
    for (let r = 0; r < 12; r++) {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      for (const a of layers) a.record(pass, position);
      pass.end();
      const t = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      if (r >= 2) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const medianMs = times[Math.floor(times.length / 2)] ?? NaN;
    others.push({ name: `decode attention, ${layers.length} layers, p=${position}`, medianMs });
    console.log(`decode attention ${layers.length} layers p=${position}: ${medianMs.toFixed(3)} ms`);
  }
  for (const a of layers) a.destroy();
  for (const b of [...caches, q, out]) b.destroy();
  step.destroy();

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
    others.push({ name: `sampler (vocab 102400, incl. 4-byte readback): ${name}`, medianMs });
    console.log(`sampler ${name}: ${medianMs.toFixed(3)} ms`);
  }
  sampler.destroy();
  logits.destroy();
}

console.log(`adapter: ${ctx.capabilities.vendor} ${ctx.capabilities.architecture} ${ctx.capabilities.description}; subgroups ${ctx.capabilities.subgroups}`);
const t0 = performance.now();
const sweepLayers = makeLayers(quick ? 2 : 9);
await device.queue.onSubmittedWorkDone();
console.log(`filled ${sweepLayers.length} layers in ${(performance.now() - t0).toFixed(0)} ms`);
const sweep: GemvVariant[] = [];
if (ctx.capabilities.subgroups) {
  // Run 2 (bench/results/int4-gemv-h200-run2.json) showed rows 2 and unroll 2 never ahead; kept out.
  for (const workgroupSize of quick ? [64] : [32, 64, 128]) {
    for (const rowsPerWg of quick ? [4] : [4, 8]) sweep.push({ reduction: 'subgroup', workgroupSize, rows: rowsPerWg, unroll: 1 });
  }
}
sweep.push({ reduction: 'workgroup', workgroupSize: 64, rows: 4, unroll: 1 });
let best: { variant: GemvVariant; gbPerS: number } | undefined;
for (const v of sweep) {
  const row = await measure(`sweep ${v.reduction} wg${v.workgroupSize} rows${v.rows} unroll${v.unroll}`, sweepLayers, () => v, false, quick ? 2 : 10);
  if (!best || row.gbPerS > best.gbPerS) best = { variant: v, gbPerS: row.gbPerS };
}
const planned: Plan = (m, epilogue) => chooseGemvVariant(ctx.capabilities, { n: m.n, k: m.k, epilogue });
const bestVariant = best?.variant ?? chooseGemvVariant(ctx.capabilities, { n: HIDDEN, k: HIDDEN, epilogue: 'store' });
const fullLayers = [...sweepLayers, ...makeLayers(quick ? 1 : 32 - sweepLayers.length)];
await device.queue.onSubmittedWorkDone();
const separate = await measure(`planner, ${fullLayers.length} layers, 7 GEMVs/layer`, fullLayers, planned, false, quick ? 2 : 10);
const fused = await measure(`planner, ${fullLayers.length} layers, fused (6/layer)`, fullLayers, planned, true, quick ? 2 : 10);
for (const l of fullLayers) for (const m of Object.values(l)) for (const b of [m.qweight, m.scales]) b.destroy();
const packedLayers = makePackedLayers(fullLayers.length);
await device.queue.onSubmittedWorkDone();
const packed = await measure(`planner, ${packedLayers.length} layers, packed+fused (4/layer)`, packedLayers, planned, true, quick ? 2 : 10);
const packedBest = await measure(`sweep best, ${packedLayers.length} layers, packed+fused`, packedLayers, () => bestVariant, true, quick ? 2 : 10);
for (const l of packedLayers) for (const m of Object.values(l)) for (const b of [m.qweight, m.scales]) b.destroy();
await measureOthers();

writeResult();
console.log(`\nplanner variant ${JSON.stringify(result().plannerVariant)}`);
const pct = (r: Row): string => `${r.gbPerS.toFixed(0)} GB/s = ${(r.ofPeak * 100).toFixed(1)} % of 4.3 TB/s, ${r.medianMs.toFixed(2)} ms`;
console.log(`full decode-step GEMVs: separate ${pct(separate)}; fused ${pct(fused)}; packed+fused ${pct(packed)}; best sweep variant ${JSON.stringify(bestVariant)} packed+fused ${pct(packedBest)}`);
ctx.dispose();
// Dawn for Node keeps the event loop alive after the device is gone.
process.exit(0);
