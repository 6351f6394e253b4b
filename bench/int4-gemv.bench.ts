/**
 * The decode step's kernels as they ship, on Sarashina2-7B / Llama-7B decode shapes (hidden 4096, MLP 11008,
 * 32 heads × 128), int4 weights in MatMulNBits layout filled with random bits, each GEMV at `chooseGemvVariant`'s
 * variant (as src/model/decode-step.ts prepares them):
 * 1. The roofline: what a WGSL kernel streams on this GPU (./gpu/read-bandwidth.ts), next to the 4.3 TB/s
 *    reference of ../shared/gpu/README.md that `ofPeak` is computed against.
 * 2. The int4 GEMV chain of one step, 32 layers (≈4.05 GB): per layer q/k/v one 'store3' dispatch with the
 *    RMSNorm fused, o 'add', gate/up 'swiglu' with the norm fused, down 'add' (4 dispatches); then each of the four
 *    alone over the 32 layers; the lm_head (102400 × 4096) with the final norm fused.
 * 3. The decode step's kernels in order (32 layers + lm_head, 5 dispatches per layer: the GEMVs above and the fused
 *    decode attention; no gather or sampler) at p = 299, 999, 1999, 3499.
 * 4. ./decode-kernel-timing.ts: the fused attention checked against the reference on this device, timed at
 *    several positions with its chooser's chunks and forced chunk lengths; the GPU sampler.
 * Each chain is recorded in one compute pass; time = wall clock from submit to onSubmittedWorkDone, median of the
 * repeats. Bytes = int4 weights + f32 scales read (x and y are negligible).
 * No longer measured (removed from the product): the GEMV variant sweep (subgroup reduction, unroll 2, 'convert'
 * unpacking, other workgroup shapes), the kernel and layout of 78039df (RMSNorm dispatches, q/k/v separate, rope
 * dispatch, fixed-64 attention), packed qkv / gate+up weights, the two-pass attention. Their numbers stay in
 * bench/results/int4-gemv-h200-run*.json and bench/BENCH.md "Decode-step kernels"; their code in git at 3056313.
 * --attention-only: skips the GEMV chains, the lm_head and the sampler (roofline, attention check, step, attention).
 * Run here:  npx vite-node bench/int4-gemv.bench.ts -- --quick     (SwiftShader: hidden 256, 2 layers, 256 positions)
 * GPU:       node bench/gpu/bundle.mjs bench/int4-gemv.bench.ts, then on the device machine
 *            source .gpu/env.sh && "$NODE" bench/out/gpu-bundle/int4-gemv.mjs --out $OUT/int4-gemv.json
 */
import { writeFileSync } from 'node:fs';
import { benchGpuContext } from './gpu/bench-gpu';
import { fillRandom, measureReadBandwidth } from './gpu/read-bandwidth';
import { checkAttention, measureAttention, measureSampler, type TimingEnv } from './decode-kernel-timing';
import { createStorageBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import { KernelCache, type KernelDispatch } from '../src/gpu/kernel';
import { prepareDecodeAttention } from '../shaders/decoder/decode-attention/decode-attention';
import { DecodeStepUniform } from '../shaders/decoder/decode-attention/decode-step-uniform';
import { llamaRopeTable } from '../shaders/decoder/decode-attention/llama-rope-table';
import { chooseGemvVariant, type GemvBuffers, type GemvShape, gemvVariantName, prepareInt4Gemv } from '../shaders/decoder/int4-gemv/int4-gemv';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const attentionOnly = args.includes('--attention-only');
const outPath = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
const HIDDEN = quick ? 256 : 4096;
const MLP = quick ? 704 : 11008;
const VOCAB = quick ? 2048 : 102400;
const LAYERS = quick ? 2 : 32;
const HEAD_DIM = 128;
const MAX_LEN = quick ? 256 : 4096;
const PEAK_BYTES_PER_S = 4.3e12; // a WGSL kernel streaming 1 GiB on the H200 (../shared/gpu/README.md)
const REPEATS = quick ? 2 : 10;

console.log('requesting the GPU');
const ctx = await benchGpuContext();
const { device } = ctx;
const kernels = new KernelCache(device);

interface Matrix {
  readonly n: number;
  readonly k: number;
  readonly qweight: GPUBuffer;
  readonly scales: GPUBuffer;
}

let seed = 1;
/** An n × k int4 matrix of random bits (scales too: timings do not depend on values). */
function randomMatrix(n: number, k: number): Matrix {
  const qweight = createStorageBuffer(device, `w${seed}`, (n * k) / 2);
  const scales = createStorageBuffer(device, `s${seed}`, (n * k) / 8);
  fillRandom(kernels, qweight, 2 * seed);
  fillRandom(kernels, scales, 2 * seed + 1);
  seed++;
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

function makeLayer(): Layer {
  const m = (n: number, k: number): Matrix => randomMatrix(n, k);
  return { q: m(HIDDEN, HIDDEN), k: m(HIDDEN, HIDDEN), v: m(HIDDEN, HIDDEN), o: m(HIDDEN, HIDDEN), gate: m(MLP, HIDDEN), up: m(MLP, HIDDEN), down: m(HIDDEN, MLP) };
}

function matrixBytes(...ms: Matrix[]): number {
  return ms.reduce((sum, m) => sum + (m.n * m.k) / 2 + (m.n * m.k) / 8, 0);
}

// The step's activations: the hidden state with the RMSNorm weight behind it (the fused-norm GEMVs read both from
// one binding, like the decode step), packed q | k | v, the attention output, the SwiGLU output, the logits.
const NORM = { eps: 1e-5, weightOffset: HIDDEN };
const xHidden = createStorageBuffer(device, 'x-hidden', 2 * HIDDEN * 4);
const yQkv = createStorageBuffer(device, 'y-qkv', 3 * HIDDEN * 4);
const attnOut = createStorageBuffer(device, 'attn-out', HIDDEN * 4);
const yMlp = createStorageBuffer(device, 'y-mlp', MLP * 4);
const logits = createStorageBuffer(device, 'logits', VOCAB * 4);

function gemv(m: Matrix, x: GPUBuffer, y: GPUBuffer, shape: GemvShape, extra: Partial<GemvBuffers> = {}): KernelDispatch {
  return prepareInt4Gemv(kernels, { x, y, qweight: m.qweight, scales: m.scales, ...extra }, shape, chooseGemvVariant(ctx.capabilities, shape));
}

/** One layer's four GEMV dispatches, in the step's order and buffers, with the bytes each reads. */
type GemvKind = 'qkv' | 'o' | 'gateUp' | 'down';
function layerGemvs(l: Layer): { kind: GemvKind; dispatch: KernelDispatch; bytes: number }[] {
  const qkvShape: GemvShape = { n: 3 * HIDDEN, k: HIDDEN, epilogue: 'store3', stacked: [HIDDEN, HIDDEN], norm: NORM };
  return [
    { kind: 'qkv', dispatch: gemv(l.q, xHidden, yQkv, qkvShape, { qweight2: l.k.qweight, scales2: l.k.scales, qweight3: l.v.qweight, scales3: l.v.scales }), bytes: matrixBytes(l.q, l.k, l.v) },
    { kind: 'o', dispatch: gemv(l.o, attnOut, xHidden, { n: HIDDEN, k: HIDDEN, epilogue: 'add' }), bytes: matrixBytes(l.o) },
    {
      kind: 'gateUp',
      dispatch: gemv(l.gate, xHidden, yMlp, { n: MLP, k: HIDDEN, epilogue: 'swiglu', norm: NORM }, { qweight2: l.up.qweight, scales2: l.up.scales }),
      bytes: matrixBytes(l.gate, l.up),
    },
    { kind: 'down', dispatch: gemv(l.down, yMlp, xHidden, { n: HIDDEN, k: MLP, epilogue: 'add' }), bytes: matrixBytes(l.down) },
  ];
}

const lmHeadGemv = (lm: Matrix): KernelDispatch => gemv(lm, xHidden, logits, { n: lm.n, k: HIDDEN, epilogue: 'store', norm: NORM });

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
  /** Of PEAK_BYTES_PER_S (the H200 reference). */
  readonly ofPeak: number;
  /** Of the read bandwidth measured in this run (readBytesPerS). */
  readonly ofRead: number;
  readonly recordMs: number;
}
const rows: Row[] = [];
const others: { name: string; medianMs: number; gbPerS?: number }[] = [];
let readBytesPerS = NaN;
const plannerVariant = chooseGemvVariant(ctx.capabilities, { n: HIDDEN, k: HIDDEN, epilogue: 'store' });

const result = () => ({
  bench: 'int4-gemv',
  date: new Date().toISOString(),
  commit: process.env.GIT_COMMIT ?? 'unknown',
  adapter: { vendor: ctx.capabilities.vendor, architecture: ctx.capabilities.architecture, description: ctx.capabilities.description },
  driver: process.env.GPU_DRIVER ?? 'unknown',
  card: process.env.GPU_NAME ?? 'unknown',
  peakBytesPerS: PEAK_BYTES_PER_S,
  readBytesPerS,
  plannerVariant,
  rows,
  others,
});

function writeResult(): void {
  if (outPath) writeFileSync(outPath, `${JSON.stringify(result(), null, 2)}\n`);
}

function record(name: string, dispatches: number, bytes: number, medianMs: number, recordMs: number): Row {
  const bytesPerS = bytes / (medianMs / 1000);
  const row = { name, dispatches, gigabytes: bytes / 1e9, medianMs, gbPerS: bytesPerS / 1e9, ofPeak: bytesPerS / PEAK_BYTES_PER_S, ofRead: bytesPerS / readBytesPerS, recordMs };
  rows.push(row);
  writeResult();
  console.log(
    `${name.padEnd(60)} ${String(dispatches).padStart(4)} disp ${row.gigabytes.toFixed(3)} GB ${medianMs.toFixed(3)} ms ${row.gbPerS.toFixed(0).padStart(5)} GB/s ` +
      `${(row.ofPeak * 100).toFixed(1)} % of 4.3 TB/s, ${(row.ofRead * 100).toFixed(1)} % of read (record ${recordMs.toFixed(2)} ms)`,
  );
  return row;
}

async function measure(name: string, list: { dispatch: KernelDispatch; bytes: number }[]): Promise<Row> {
  const { medianMs, recordMs } = await timeChain(list.map((g) => g.dispatch), REPEATS);
  return record(name, list.length, list.reduce((s, g) => s + g.bytes, 0), medianMs, recordMs);
}

/** The int4 GEMVs of one step: the whole chain, each dispatch kind over the layers, the lm_head. */
async function measureGemvChains(layers: Layer[], lm: Matrix): Promise<void> {
  const gemvs = layers.flatMap(layerGemvs);
  const n = layers.length;
  await measure(`${gemvVariantName(plannerVariant)}, ${n} layers, decode step layout (4/layer)`, gemvs);
  const kinds: [GemvKind, string][] = [
    ['qkv', 'q/k/v store3, norm fused'],
    ['o', 'o add'],
    ['gateUp', 'gate/up swiglu, norm fused'],
    ['down', 'down add'],
  ];
  for (const [kind, label] of kinds) await measure(`${label}, ${n} layers`, gemvs.filter((g) => g.kind === kind));
  for (const g of gemvs) g.dispatch.destroy();
  const head = lmHeadGemv(lm);
  await measure(`lm_head ${lm.n}×${HIDDEN}, norm fused`, [{ dispatch: head, bytes: matrixBytes(lm) }]);
  head.destroy();
}

/**
 * The decode step's kernels without the embedding gather and sampler, in the step's order and buffers: per layer
 * qkv store3 (norm fused), the fused attention (RoPE + cache append + split-K with the merge), o add, gate/up
 * SwiGLU (norm fused), down add; then the lm_head with the final norm fused.
 */
async function measureStep(layers: Layer[], lm: Matrix, positions: number[]): Promise<void> {
  const heads = HIDDEN / HEAD_DIM;
  const shape = { heads, kvHeads: heads, headDim: HEAD_DIM, maxLen: MAX_LEN };
  const step = new DecodeStepUniform(device);
  const table = llamaRopeTable({ theta: 10000, headDim: HEAD_DIM, maxLen: MAX_LEN });
  const cos = uploadBuffer(device, 'cos', table.cos);
  const sin = uploadBuffer(device, 'sin', table.sin);
  const caches = layers.map(() => {
    const pair = [createStorageBuffer(device, 'k-cache', heads * MAX_LEN * HEAD_DIM * 4), createStorageBuffer(device, 'v-cache', heads * MAX_LEN * HEAD_DIM * 4)] as const;
    for (const b of pair) fillRandom(kernels, b, seed++);
    return pair;
  });
  const records: ((pass: GPUComputePassEncoder, position: number) => void)[] = [];
  const owned: { destroy(): void }[] = [];
  const add = (d: KernelDispatch): void => {
    records.push((pass) => d.record(pass));
    owned.push(d);
  };
  layers.forEach((l, i) => {
    const [qkv, o, gateUp, down] = layerGemvs(l).map((g) => g.dispatch) as [KernelDispatch, KernelDispatch, KernelDispatch, KernelDispatch];
    const [kCache, vCache] = caches[i] as readonly [GPUBuffer, GPUBuffer];
    add(qkv);
    const attention = prepareDecodeAttention(kernels, { qkv: yQkv, step: step.buffer, kCache, vCache, cos, sin, out: attnOut }, shape);
    records.push((pass, p) => attention.record(pass, p));
    owned.push(attention);
    for (const d of [o, gateUp, down]) add(d);
  });
  add(lmHeadGemv(lm));
  for (const position of positions) {
    step.setPosition(position);
    const { medianMs } = await timeChain([{ record: (pass) => records.forEach((r) => r(pass, position)) }], REPEATS);
    const name = `decode step kernels (${layers.length} layers + lm_head, ${records.length} dispatches), ${gemvVariantName(plannerVariant)}, p=${position}`;
    others.push({ name, medianMs });
    writeResult();
    console.log(`step ${records.length} disp p=${String(position).padStart(4)}: ${medianMs.toFixed(3)} ms = ${(1000 / medianMs).toFixed(0)} tok/s (kernels only)`);
  }
  for (const d of owned) d.destroy();
  for (const b of [...caches.flat(), cos, sin]) b.destroy();
  step.destroy();
}

const timingEnv: TimingEnv = {
  device,
  kernels,
  quick,
  randomBytes: (sizeBytes, bytesSeed) => {
    const buffer = createStorageBuffer(device, `random${bytesSeed}`, sizeBytes);
    fillRandom(kernels, buffer, bytesSeed);
    return buffer;
  },
  timeChain,
  report: (entry) => {
    others.push(entry);
    writeResult();
  },
};

console.log(`adapter: ${ctx.capabilities.vendor} ${ctx.capabilities.architecture} ${ctx.capabilities.description}; GEMV variant ${gemvVariantName(plannerVariant)}`);
const started = performance.now();
const caps = ctx.capabilities;
const readSize = Math.floor(Math.min(quick ? 2 ** 24 : 2 ** 30, caps.maxStorageBufferBindingSize, caps.maxBufferSize) / 16) * 16;
readBytesPerS = await measureReadBandwidth(device, readSize, 5, kernels);
others.push({ name: `read bandwidth (stream-read over ${(readSize / 2 ** 20).toFixed(0)} MiB of random words)`, medianMs: (readSize / readBytesPerS) * 1000, gbPerS: readBytesPerS / 1e9 });
writeResult();
console.log(`read bandwidth: ${(readBytesPerS / 1e9).toPrecision(3)} GB/s over ${(readSize / 2 ** 20).toFixed(0)} MiB`);
await checkAttention(timingEnv, quick ? 3 : 50);

const layers = Array.from({ length: LAYERS }, makeLayer);
const lmHead = randomMatrix(VOCAB, HIDDEN);
await device.queue.onSubmittedWorkDone();
console.log(`filled ${LAYERS} layers and the lm_head in ${(performance.now() - started).toFixed(0)} ms`);
if (!attentionOnly) await measureGemvChains(layers, lmHead);
await measureStep(layers, lmHead, quick ? [99] : [299, 999, 1999, 3499]);
for (const m of [...layers.flatMap((l) => Object.values(l)), lmHead]) for (const b of [m.qweight, m.scales]) b.destroy();

await measureAttention(timingEnv);
if (!attentionOnly) await measureSampler(timingEnv);
writeResult();
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const b of [xHidden, yQkv, attnOut, yMlp, logits]) b.destroy();
ctx.dispose();
// Dawn for Node keeps the event loop alive after the device is gone.
process.exit(0);
