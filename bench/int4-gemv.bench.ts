/**
 * Decode-step kernels on Llama-7B decode shapes (hidden 4096, MLP 11008), int4 weights in MatMulNBits layout.
 *
 * 1. Sweep: GEMV variants (reduction × unpacking × workgroup size × rows × unroll) on a 9-layer chain of the 7
 *    matrices of a layer (63 dispatches, ≈1.1 GB, like the 64-matrix chain in ../shared/gpu/README.md).
 *    'convert' wg64 rows8 unroll1 with subgroups is the kernel of commit 78039df, the baseline of every comparison.
 * 2. The full 32-layer chain (≈4.05 GB: one decode step's GEMVs) for the old kernel and for the planner's variant
 *    plus the sweep's best three: the decode step's layout before (RMSNorm dispatch, q, k, v, o add, RMSNorm,
 *    gate/up SwiGLU, down add: 8 per layer) and now (norms fused, q/k/v one 'store3' dispatch, o add, gate/up
 *    SwiGLU, down add: 4 per layer); packed + fused weights (4 per layer, the earlier 3.48 ms figure); the lm_head
 *    (102400 × 4096) without and with the final norm fused. (Run 6 also timed 32 identical GEMVs per shape; those
 *    chains were inconsistent with the mixed ones and the sweep was dropped: bench/BENCH.md.)
 * Each chain is recorded in one compute pass; time = wall clock from submit to onSubmittedWorkDone,
 * median of the repeats. Bytes = int4 weights + f32 scales read (x and y are negligible).
 * 3. Decode attention over a 4096-position cache, 32 layers, at p = 299, 999, 1999, 3499, 4095: the path of 78039df
 *    (rope dispatch + fixed 64-position split), run 6's two-pass kernel (rope fused, combine dispatch) and the fused
 *    merge (one dispatch; 128 and 256 invocations), each at its chooser's chunking and at chunks of 32 … 256
 *    positions (KV bytes read = 2 · 32 · 32 · (p + 1) · 128 · 4 B); before them (--attention-only) a check of the
 *    fused merge against the two-pass kernel on the device; the GPU sampler over 102400 logits (wall clock).
 *    Part 3 lives in ./decode-kernel-timing.ts.
 * 4. The decode step's kernels in order (32 layers + lm_head, no gather or sampler) at p = 299 and 1999 (and 999,
 *    3499 with --attention-only): the path of 78039df (11 dispatches per layer, old GEMV kernel) vs now with the
 *    two-pass attention (6 per layer) and with the fused attention (5 per layer), for the chain candidates.
 * --attention-only (run 7): skips the sweep, the GEMV chains and the lm_head; runs part 4 with the planner's
 * variant only (attention two-pass vs fused side by side) and part 3.
 * Run here:  npx vite-node bench/int4-gemv.bench.ts -- --quick     (SwiftShader: tiny chain)
 * GPU:       node bench/gpu/bundle.mjs bench/int4-gemv.bench.ts, then on the device machine
 *            source .gpu/env.sh && "$NODE" bench/out/gpu-bundle/int4-gemv.mjs --out $OUT/int4-gemv.json
 */
import { writeFileSync } from 'node:fs';
import fillRandomWgsl from './gpu/fill-random.wgsl?raw';
import { benchGpuContext } from './gpu/bench-gpu';
import { createStorageBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import { prepareDecodeAttention } from '../src/model/kernels/decode-attention';
import { DecodeStepUniform } from '../src/model/kernels/decode-step-uniform';
import { KernelCache } from '../src/gpu/kernel';
import { chooseGemvVariant, type GemvBuffers, type GemvEpilogue, type GemvShape, type GemvVariant, gemvVariantName, prepareInt4Gemv } from '../src/model/kernels/int4-gemv';
import { llamaRopeTable } from '../src/model/kernels/llama-rope-table';
import { prepareRmsNorm } from '../src/model/kernels/rms-norm';
import { prepareRopeAppend } from '../src/model/kernels/rope';
import { checkFusedAttention, measureAttention, measureSampler, type TimingEnv } from './decode-kernel-timing';
import type { PreparedKernel } from '../src/model/kernels/prepared-kernel';
import { prepareKernel } from '../src/model/kernels/prepared-kernel';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const attentionOnly = args.includes('--attention-only');
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

// x, then the RMSNorm weight behind it (the fused-norm GEMVs read both from one binding, like the decode step).
const xHidden = createStorageBuffer(device, 'x-hidden', 2 * HIDDEN * 4);
const NORM = { eps: 1e-5, weightOffset: HIDDEN };
const xMlp = createStorageBuffer(device, 'x-mlp', MLP * 4);
const yHidden = createStorageBuffer(device, 'y-hidden', HIDDEN * 4);
const yMlp = createStorageBuffer(device, 'y-mlp', MLP * 4);
const yQkv = createStorageBuffer(device, 'y-qkv', 3 * HIDDEN * 4);

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

function matrixBytes(...ms: Matrix[]): number {
  return ms.reduce((sum, m) => sum + (m.n * m.k) / 2 + (m.n * m.k) / 8, 0);
}

function layerBytes(layer: Layer | PackedLayer): number {
  return matrixBytes(...Object.values(layer));
}

type Plan = (m: Matrix, epilogue: GemvEpilogue) => GemvVariant;

/** How a 7-matrix layer is dispatched: 'separate' (7 plain GEMVs), 'engine-old' (the decode step of 78039df:
 * RMSNorm dispatch, q, k, v, o add, RMSNorm, gate/up SwiGLU, down add: 8) or 'engine' (now: the norms fused into
 * the GEMVs and q, k, v one 'store3' dispatch: 4). */
type ChainLayout = 'separate' | 'engine-old' | 'engine';

const normWeight = createStorageBuffer(device, 'norm-weight', HIDDEN * 4);
const xNormed = createStorageBuffer(device, 'x-normed', HIDDEN * 4);
const yQkv3 = createStorageBuffer(device, 'y-qkv3', 3 * HIDDEN * 4);

function chain(layers: Layer[], plan: Plan, layout: ChainLayout): PreparedKernel[] {
  const out: PreparedKernel[] = [];
  const gemv = (m: Matrix, x: GPUBuffer, y: GPUBuffer, epilogue: GemvEpilogue, options: { up?: Matrix; norm?: boolean } = {}): void => {
    const shape: GemvShape = { n: m.n, k: m.k, epilogue, ...(options.norm ? { norm: NORM } : {}) };
    const buffers = { x, y, qweight: m.qweight, scales: m.scales, qweight2: options.up?.qweight, scales2: options.up?.scales };
    out.push(prepareInt4Gemv(device, kernels, buffers, shape, plan(m, epilogue)));
  };
  const rmsNorm = (): void => {
    out.push(prepareRmsNorm(device, kernels, { x: xHidden, weight: normWeight, y: xNormed }, { rows: 1, dim: HIDDEN, eps: 1e-5 }));
  };
  for (const l of layers) {
    if (layout === 'separate') {
      for (const m of [l.q, l.k, l.v, l.o]) gemv(m, xHidden, yHidden, 'store');
      for (const m of [l.gate, l.up]) gemv(m, xHidden, yMlp, 'store');
      gemv(l.down, xMlp, yHidden, 'store');
      continue;
    }
    const fuse = layout === 'engine';
    if (!fuse) rmsNorm();
    if (fuse) {
      const shape: GemvShape = { n: l.q.n + l.k.n + l.v.n, k: HIDDEN, epilogue: 'store3', stacked: [l.q.n, l.k.n], norm: NORM };
      const buffers = { x: xHidden, y: yQkv3, qweight: l.q.qweight, scales: l.q.scales, qweight2: l.k.qweight, scales2: l.k.scales, qweight3: l.v.qweight, scales3: l.v.scales };
      out.push(prepareInt4Gemv(device, kernels, buffers, shape, plan(l.q, 'store')));
    } else for (const m of [l.q, l.k, l.v]) gemv(m, xNormed, yQkv, 'store');
    gemv(l.o, xHidden, yHidden, 'add');
    if (!fuse) rmsNorm();
    gemv(l.gate, fuse ? xHidden : xNormed, yMlp, 'swiglu', { up: l.up, norm: fuse });
    gemv(l.down, xMlp, yHidden, 'add');
  }
  return out;
}

async function timeChain(dispatches: readonly { record(pass: GPUComputePassEncoder): void }[], repeats: number): Promise<{ medianMs: number; recordMs: number }> {
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
const others: { name: string; medianMs: number; gbPerS?: number }[] = [];
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

function record(name: string, dispatches: number, bytes: number, medianMs: number, recordMs: number): Row {
  const gbPerS = bytes / (medianMs / 1000) / 1e9;
  const row = { name, dispatches, gigabytes: bytes / 1e9, medianMs, gbPerS, ofPeak: (gbPerS * 1e9) / PEAK_BYTES_PER_S, recordMs };
  rows.push(row);
  writeResult();
  console.log(`${name.padEnd(60)} ${String(dispatches).padStart(4)} disp ${row.gigabytes.toFixed(3)} GB ${medianMs.toFixed(3)} ms ${gbPerS.toFixed(0).padStart(5)} GB/s ${(row.ofPeak * 100).toFixed(1)} % (record ${recordMs.toFixed(2)} ms)`);
  return row;
}

async function measure(name: string, layers: Layer[] | PackedLayer[], plan: Plan, layout: ChainLayout, repeats: number): Promise<Row> {
  const dispatches = 'qkv' in (layers[0] ?? {}) ? packedChain(layers as PackedLayer[], plan) : chain(layers as Layer[], plan, layout);
  const bytes = layers.reduce((s, l) => s + layerBytes(l), 0);
  const { medianMs, recordMs } = await timeChain(dispatches, repeats);
  for (const d of dispatches) d.destroy();
  return record(name, dispatches.length, bytes, medianMs, recordMs);
}

/**
 * The decode step's kernels without the embedding gather and sampler, 32 layers + lm_head, in the step's order and
 * buffers: before (78039df: RMSNorm dispatches, q/k/v GEMVs, rope dispatch, fixed-split attention, old GEMV kernel:
 * 11 dispatches per layer) and now (norms fused, qkv store3, rope fused into the adaptive attention: 6 per layer).
 */
async function measureStep(layers: Layer[], lm: Matrix, variants: Map<string, GemvVariant>, positions: number[]): Promise<void> {
  const heads = HIDDEN / 128;
  const headDim = 128;
  const maxLen = quick ? 256 : 4096;
  const shape = { heads, kvHeads: heads, headDim, maxLen };
  const step = new DecodeStepUniform(device);
  const attnOut = createStorageBuffer(device, 'step-attn', HIDDEN * 4);
  const logits = createStorageBuffer(device, 'step-logits', lm.n * 4);
  const table = llamaRopeTable({ theta: 10000, headDim, maxLen });
  const cos = uploadBuffer(device, 'cos', table.cos);
  const sin = uploadBuffer(device, 'sin', table.sin);
  const caches = layers.map((_, l) => [randomMatrix(8 * heads * headDim, maxLen, 30000 + l).qweight, randomMatrix(8 * heads * headDim, maxLen, 40000 + l).qweight] as const);
  await device.queue.onSubmittedWorkDone();
  const rope = { cos, sin, kOffset: HIDDEN, vOffset: 2 * HIDDEN };
  const gemv = (m: Matrix, x: GPUBuffer, y: GPUBuffer, shape: GemvShape, v: GemvVariant, extra: Partial<GemvBuffers> = {}): PreparedKernel =>
    prepareInt4Gemv(device, kernels, { x, y, qweight: m.qweight, scales: m.scales, ...extra }, shape, v);
  const rmsNorm = (): PreparedKernel => prepareRmsNorm(device, kernels, { x: xHidden, weight: normWeight, y: xNormed }, { rows: 1, dim: HIDDEN, eps: 1e-5 });
  type Recordable = { record(pass: GPUComputePassEncoder, position: number): void; destroy(): void };
  const wrap = (d: PreparedKernel): Recordable => ({ record: (pass) => d.record(pass), destroy: () => d.destroy() });
  const build = (kind: 'old' | 'new', v: GemvVariant, split: 'fused' | 'adaptive' = 'fused'): Recordable[] => {
    const out: Recordable[] = [];
    layers.forEach((l, i) => {
      const [kCache, vCache] = caches[i] ?? [];
      if (!kCache || !vCache) return;
      if (kind === 'old') {
        out.push(wrap(rmsNorm()));
        [l.q, l.k, l.v].forEach((m, j) => out.push(wrap(gemv(m, xNormed, yQkv3, { n: HIDDEN, k: HIDDEN, epilogue: 'store', yOffset: j * HIDDEN }, v))));
        out.push(wrap(prepareRopeAppend(device, kernels, { qkv: yQkv3, step: step.buffer, kCache, vCache, cos, sin }, shape)));
        out.push(prepareDecodeAttention(device, kernels, { q: yQkv3, step: step.buffer, kCache, vCache, out: attnOut }, shape, { split: 'fixed-64' }));
        out.push(wrap(gemv(l.o, attnOut, xHidden, { n: HIDDEN, k: HIDDEN, epilogue: 'add' }, v)));
        out.push(wrap(rmsNorm()));
        out.push(wrap(gemv(l.gate, xNormed, yMlp, { n: MLP, k: HIDDEN, epilogue: 'swiglu' }, v, { qweight2: l.up.qweight, scales2: l.up.scales })));
      } else {
        const qkvShape: GemvShape = { n: 3 * HIDDEN, k: HIDDEN, epilogue: 'store3', stacked: [HIDDEN, HIDDEN], norm: NORM };
        out.push(wrap(gemv(l.q, xHidden, yQkv3, qkvShape, v, { qweight2: l.k.qweight, scales2: l.k.scales, qweight3: l.v.qweight, scales3: l.v.scales })));
        out.push(prepareDecodeAttention(device, kernels, { q: yQkv3, step: step.buffer, kCache, vCache, out: attnOut }, shape, { rope, split }));
        out.push(wrap(gemv(l.o, attnOut, xHidden, { n: HIDDEN, k: HIDDEN, epilogue: 'add' }, v)));
        out.push(wrap(gemv(l.gate, xHidden, yMlp, { n: MLP, k: HIDDEN, epilogue: 'swiglu', norm: NORM }, v, { qweight2: l.up.qweight, scales2: l.up.scales })));
      }
      out.push(wrap(gemv(l.down, yMlp, xHidden, { n: HIDDEN, k: MLP, epilogue: 'add' }, v)));
    });
    if (kind === 'old') out.push(wrap(rmsNorm()), wrap(gemv(lm, xNormed, logits, { n: lm.n, k: HIDDEN, epilogue: 'store' }, v)));
    else out.push(wrap(gemv(lm, xHidden, logits, { n: lm.n, k: HIDDEN, epilogue: 'store', norm: NORM }, v)));
    return out;
  };
  // Dispatches = entries + one per layer where the attention entry records two passes (old, two-pass).
  const paths: [string, Recordable[], number][] = [['old (78039df) path, old kernel', build('old', OLD), layers.length]];
  for (const [name, v] of variants) {
    paths.push([`new path, ${name}, attention two-pass`, build('new', v, 'adaptive'), layers.length]);
    paths.push([`new path, ${name}, attention fused`, build('new', v, 'fused'), 0]);
  }
  for (const position of positions) {
    step.setPosition(position);
    for (const [name, list, extra] of paths) {
      const { medianMs } = await timeChain([{ record: (pass) => list.forEach((d) => d.record(pass, position)) }], 10);
      others.push({ name: `decode step kernels (${layers.length} layers + lm_head, ${list.length + extra} dispatches), ${name}, p=${position}`, medianMs });
      writeResult();
      console.log(`step ${name.padEnd(60)} ${String(list.length + extra).padStart(4)} disp p=${String(position).padStart(4)}: ${medianMs.toFixed(3)} ms = ${(1000 / medianMs).toFixed(0)} tok/s (kernels only)`);
    }
  }
  for (const [, list] of paths) for (const d of list) d.destroy();
  for (const b of caches.flat()) b.destroy();
  for (const b of [attnOut, logits, cos, sin]) b.destroy();
  step.destroy();
}

const timingEnv: TimingEnv = {
  device,
  kernels,
  quick,
  randomBytes: (sizeBytes, bytesSeed) => {
    const m = randomMatrix(sizeBytes / 16, 32, bytesSeed);
    m.scales.destroy();
    return m.qweight;
  },
  timeChain,
  report: (entry) => {
    others.push(entry);
    writeResult();
  },
};

console.log(`adapter: ${ctx.capabilities.vendor} ${ctx.capabilities.architecture} ${ctx.capabilities.description}; subgroups ${ctx.capabilities.subgroups}`);
/** The kernel of commit 78039df (its planner's choice): the baseline. */
const OLD: GemvVariant = { reduction: ctx.capabilities.subgroups ? 'subgroup' : 'workgroup', unpack: 'convert', workgroupSize: 64, rows: 8, unroll: 1 };
const started = performance.now();
// (OLD above: measureStep's 78039df path reads it, also in the --attention-only run; run 7 crashed there before.)
if (attentionOnly) {
  // Run 7: the attention kernels alone, then the whole step's kernels with the planner's GEMV variant.
  await checkFusedAttention(timingEnv, quick ? 3 : 50);
  await measureAttention(timingEnv);
  const planner = chooseGemvVariant(ctx.capabilities, { n: HIDDEN, k: HIDDEN, epilogue: 'store' });
  const stepLayers = makeLayers(quick ? 2 : 32);
  const lm = randomMatrix(quick ? 2048 : 102400, HIDDEN, seed++);
  await device.queue.onSubmittedWorkDone();
  await measureStep(stepLayers, lm, new Map([[gemvVariantName(planner), planner]]), quick ? [99] : [299, 999, 1999, 3499]);
  writeResult();
  console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  ctx.dispose();
  process.exit(0);
}
const sweepLayers = makeLayers(quick ? 2 : 9);
await device.queue.onSubmittedWorkDone();
console.log(`filled ${sweepLayers.length} layers in ${(performance.now() - started).toFixed(0)} ms`);
const sweep: GemvVariant[] = [OLD];
const shapes: [number, number, number][] = quick ? [[64, 8, 2]] : [[64, 8, 1], [64, 8, 2], [64, 4, 2], [32, 8, 2], [128, 8, 1], [128, 8, 2]];
for (const reduction of ctx.capabilities.subgroups ? (['subgroup', 'workgroup'] as const) : (['workgroup'] as const)) {
  for (const [workgroupSize, rowsPerWg, unroll] of shapes) sweep.push({ reduction, unpack: 'bias', workgroupSize, rows: rowsPerWg, unroll });
}
sweep.push({ reduction: 'workgroup', unpack: 'convert', workgroupSize: 64, rows: 8, unroll: 2 });
const swept: { variant: GemvVariant; gbPerS: number }[] = [];
for (const v of sweep) {
  const row = await measure(`sweep ${gemvVariantName(v)}`, sweepLayers, () => v, 'separate', quick ? 2 : 10);
  swept.push({ variant: v, gbPerS: row.gbPerS });
}
const plannerVariant = chooseGemvVariant(ctx.capabilities, { n: HIDDEN, k: HIDDEN, epilogue: 'store' });
const ranked = swept.filter((s) => s.variant !== OLD).sort((a, b) => b.gbPerS - a.gbPerS);
// The planner's variant and the sweep's best three (deduplicated by name) on the full chains.
const candidates = new Map<string, GemvVariant>([[gemvVariantName(plannerVariant), plannerVariant]]);
for (const s of ranked.slice(0, 3)) candidates.set(gemvVariantName(s.variant), s.variant);
console.log(`chain candidates: ${[...candidates.keys()].join(', ')}`);
const fullLayers = [...sweepLayers, ...makeLayers(quick ? 1 : 32 - sweepLayers.length)];
await device.queue.onSubmittedWorkDone();
const n = fullLayers.length;
const reps = quick ? 2 : 10;
const engineOld = await measure(`old kernel, ${n} layers, engine layout of 78039df (norm dispatches, 8/layer)`, fullLayers, () => OLD, 'engine-old', reps);
const engineRows: Row[] = [];
for (const [name, v] of candidates) engineRows.push(await measure(`${name}, ${n} layers, engine layout (norms fused, qkv store3: 4/layer)`, fullLayers, () => v, 'engine', reps));
await measure(`old kernel, ${n} layers, engine layout (norms fused, qkv store3: 4/layer)`, fullLayers, () => OLD, 'engine', reps);
const lmHead = randomMatrix(quick ? 2048 : 102400, HIDDEN, seed++);
await measureStep(fullLayers, lmHead, candidates, quick ? [99] : [299, 1999]);
for (const l of fullLayers) for (const m of Object.values(l)) for (const b of [m.qweight, m.scales]) b.destroy();
const packedLayers = makePackedLayers(n);
await device.queue.onSubmittedWorkDone();
const packedOld = await measure(`old kernel, ${n} layers, packed+fused (4/layer)`, packedLayers, () => OLD, 'engine', reps);
for (const [name, v] of candidates) await measure(`${name}, ${n} layers, packed+fused (4/layer)`, packedLayers, () => v, 'engine', reps);
for (const l of packedLayers) for (const m of Object.values(l)) for (const b of [m.qweight, m.scales]) b.destroy();

// lm_head: vocab 102400 × hidden, store, with the final norm fused (new) or not (old).
const logitsOut = createStorageBuffer(device, 'logits-out', lmHead.n * 4);
await device.queue.onSubmittedWorkDone();
const lmBytes = (lmHead.n * lmHead.k * 5) / 8;
for (const [name, variant, norm] of [['old kernel', OLD, false] as const, ...[...candidates].map(([name, v]) => [`${name}, norm fused`, v, true] as const)]) {
  const shape: GemvShape = { n: lmHead.n, k: HIDDEN, epilogue: 'store', ...(norm ? { norm: NORM } : {}) };
  const d = prepareInt4Gemv(device, kernels, { x: xHidden, y: logitsOut, qweight: lmHead.qweight, scales: lmHead.scales }, shape, variant);
  const { medianMs, recordMs } = await timeChain([d], reps);
  record(`lm_head ${lmHead.n}×${HIDDEN}, ${name}`, 1, lmBytes, medianMs, recordMs);
  d.destroy();
}
lmHead.qweight.destroy();
lmHead.scales.destroy();

await measureAttention(timingEnv);
await measureSampler(timingEnv);
writeResult();
const pct = (r: Row): string => `${r.medianMs.toFixed(2)} ms = ${r.gbPerS.toFixed(0)} GB/s = ${(r.ofPeak * 100).toFixed(1)} %`;
console.log(`\nfull-step GEMVs: old engine layout ${pct(engineOld)}; old kernel packed ${pct(packedOld)}`);
for (const r of engineRows) console.log(`  ${r.name}: ${pct(r)}`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
ctx.dispose();
// Dawn for Node keeps the event loop alive after the device is gone.
process.exit(0);
