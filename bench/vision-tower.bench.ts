/**
 * The 8B vision tower (Qwen2-VL-7B shapes: 32 blocks, width 1280, 16 heads × 80, MLP 5120, merger 5120 → 4096),
 * f32, random weights made on the GPU, on the WebGPU adapter Node finds. Three parts:
 * - micro: each dense layer shape of a block (qkv, proj, fc1, fc2) plus patch embed and the merger's first linear at every N:
 *   onnxruntime-web Gemm(transB = 1) on the HF [out, in] weight, ORT MatMul + Add on a pre-transposed [in, out]
 *   weight, and our vision-linear kernel per tiling of TILING_CANDIDATES (and the one chosen per shape).
 * - tower: the whole tower in our kernels (src/model/vision-tower.ts, one command buffer), with forced attention and
 *   dense tilings, plus its parts alone (all dense layers, all attentions, all LayerNorms). The earlier ORT-segmented
 *   path's numbers (oldMs, ortBlockRunMs) are in bench/BENCH.md with the commit that measured them.
 * Times are wall clock (performance.now() around submit … onSubmittedWorkDone), median of --reps after a warm-up.
 *
 *   npx vite-node bench/vision-tower.bench.ts -- [--cases 1024,3996,12288] [--reps 3] [--parts micro,tower] [--preset 8b|tiny] [--storage f32|f16] [--sweep] [--out f.json]
 * Where the device has subgroup matrices (Dawn flags allow_unsafe_apis,vulkan_enable_f16_on_nvidia on NVIDIA), the
 * whole tower again with the dense layers on them (newMmaMs; vision-linear-mma), and with its attention on them
 * (newAttentionMmaMs; vision-attention-mma).
 * `--storage f16` (q4f16 packages' weights and activations as f16 pairs): the whole tower (newMs) and the micro
 * sweep of our kernel (no ORT rows: its baseline is f32); with --sweep, the f16 tower once per tiling of the sweep.
 * GPU machine: node bench/gpu/bundle.mjs bench/vision-tower.bench.ts, ORT's wasm next to the bundle (see
 * bench/gpu/stage-model-bench.sh), then `source .gpu/env.sh && "$NODE" <dir>/vision-tower.mjs --out $OUT/x.json`.
 */
import { writeFileSync } from 'node:fs';
import { GraphBuilder } from '../src/convert/graphs/graph-builder';
import { parseModelConfig } from '../src/convert/hf-config';
import { presetConfigJson } from '../export/random/random-presets';
import { float16Bits } from '../src/gpu/float16-bits';
import { createStorageBuffer } from '../src/gpu/gpu-buffers';
import { KernelCache } from '../src/gpu/kernel';
import { encodeOnnxModel } from '../src/ort/onnx/onnx-model';
import { createSession, gpuTensor, loadOrt, type OrtSession, type OrtTensor } from '../src/ort/ort-runtime';
import { type PatchGrid, visionCuSeqlens, visionRotaryTables } from '../src/processor/vision-rotary';
import { type AffineNames, allNorms, checkpointTensorShapes, WEIGHTS } from '../src/protocol/weight-names';
import { encodeVisionAttention } from '../shaders/vision/attention/vision-attention';
import { chooseVisionAttentionMma } from '../shaders/vision/attention/vision-attention-mma-plan';
import { visionAttentionStorageBytes } from '../shaders/vision/attention/vision-attention-tiling';
import { encodeVisionLayerNorm } from '../shaders/vision/layer-norm/vision-layer-norm';
import { chooseVisionLinearTiling, encodeVisionLinear, VISION_LINEAR_CHOICES, VISION_LINEAR_MEDIUM, type VisionLinearTiling, visionLinearTilingFits, visionLinearTilingName } from '../shaders/vision/linear/vision-linear';
import type { KernelDispatch } from '../src/gpu/kernel';
import { visionLinearMmaPlan } from '../shaders/vision/linear/vision-linear-mma';
import { encodeVisionBlock, encodeVisionMerger, encodeVisionPatchEmbed, type VisionTowerContext, type VisionWeightSource, visionPatchDim } from '../src/model/vision-tower';
import { randomFloats } from '../src/testing/compare';
import { benchGpuContext } from './gpu/bench-gpu';

const argv = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const cases = (value('cases') ?? '1024,3996,12288').split(',').map(Number);
const reps = Number(value('reps') ?? 3);
const parts = (value('parts') ?? 'micro,tower').split(',');
const out = value('out');
const storage = (value('storage') ?? 'f32') as 'f32' | 'f16';
const now = (): number => performance.now();
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const r2 = (x: number): number => Number(x.toFixed(3));
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

/** The measured image sizes' grids (448×448, 768×1024, 1344×1792 after Qwen2-VL resizing); others near-square. */
function gridOf(patches: number): PatchGrid {
  const known: Record<number, PatchGrid> = { 1024: { t: 1, h: 32, w: 32 }, 3996: { t: 1, h: 54, w: 74 }, 12288: { t: 1, h: 96, w: 128 } };
  const g = known[patches];
  if (g) return g;
  const windows = patches / 4;
  let bh = Math.floor(Math.sqrt(windows));
  while (windows % bh !== 0) bh--;
  return { t: 1, h: 2 * bh, w: (2 * windows) / bh };
}

const ctx = await benchGpuContext();
const { device } = ctx;
const kernels = new KernelCache(device);
// onnxruntime-web only for the micro part's baselines (the tower part runs without its wasm next to the bundle).
const ort = parts.includes('micro') ? await loadOrt() : undefined;
const spec = parseModelConfig(presetConfigJson((value('preset') ?? '8b') as '8b' | 'tiny'));
const v = spec.vision;
const E = v.embedDim;
const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
const subgroups = info as (GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number }) | undefined;
log(`adapter ${info?.vendor} ${info?.architecture} ${info?.description}; subgroup size ${subgroups?.subgroupMinSize}..${subgroups?.subgroupMaxSize}; workgroup storage ${device.limits.maxComputeWorkgroupStorageSize}`);

const normWeights = new Set(allNorms(spec).map((n) => n.weight));
const checkpointShapes = checkpointTensorShapes(spec);

/** Random vision weights, one GPU buffer each, filled from one pool (LayerNorm scales near 1). */
class RandomWeights implements VisionWeightSource {
  private readonly buffers = new Map<string, { buffer: GPUBuffer; dtype: string; shape: number[] }>();
  private readonly pool = randomFloats(Math.max(16 * v.embedDim * v.embedDim, visionPatchDim(v) * v.embedDim) + 1024, 7).map((x) => 0.03 * x);
  get(name: string): { buffer: GPUBuffer; dtype: string; shape: number[] } {
    let w = this.buffers.get(name);
    if (!w) {
      const shape = weightShape(name);
      const count = shape.reduce((a, b) => a * b, 1);
      const data = normWeights.has(name) ? this.pool.subarray(0, count).map((x) => 1 + 3 * x) : this.pool.subarray(name.length % 512, (name.length % 512) + count);
      const bytes = storage === 'f16' ? float16Bits(data) : data;
      const buffer = createStorageBuffer(device, name, Math.ceil(bytes.byteLength / 4) * 4);
      device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
      w = { buffer, dtype: storage === 'f16' ? 'float16' : 'float32', shape };
      this.buffers.set(name, w);
    }
    return w;
  }
}

function weightShape(name: string): number[] {
  // The engine reads the conv weight as a [E, C·T·P·P] matrix.
  if (name === WEIGHTS.patchEmbed) return [E, visionPatchDim(v)];
  const shape = checkpointShapes.get(name);
  if (!shape) throw new Error(`no shape for ${name}`);
  return [...shape];
}

const weights = new RandomWeights();
const results: Record<string, unknown> = { adapter: { vendor: info?.vendor, architecture: info?.architecture, description: info?.description, subgroupMinSize: subgroups?.subgroupMinSize, subgroupMaxSize: subgroups?.subgroupMaxSize }, commit: process.env.BENCH_COMMIT ?? 'unknown', reps };

/** Median wall time of `work` (GPU work awaited) over reps after one warm-up, in ms. */
async function timeIt(work: () => Promise<void> | void, repeats = reps): Promise<number> {
  await work();
  await device.queue.onSubmittedWorkDone();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    await work();
    await device.queue.onSubmittedWorkDone();
    times.push(now() - t0);
  }
  return median(times);
}

/** Tilings the dense-layer sweep times: the chooser's three and neighbours of the large one (BENCH.md, runs 1–2). */
const TILING_CANDIDATES: readonly VisionLinearTiling[] = [
  ...VISION_LINEAR_CHOICES,
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 16, threadsN: 16, tileK: 16 },
  { rowsPerThread: 4, colsPerThread: 8, threadsM: 16, threadsN: 16, tileK: 16 },
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 16, tileK: 32 },
  { rowsPerThread: 8, colsPerThread: 8, threadsM: 8, threadsN: 8, tileK: 16 },
];

/** Records `record` into one pass and submits it; destroys the dispatches it returns after submitting. */
function submitPass(record: (pass: GPUComputePassEncoder) => readonly (KernelDispatch | null)[]): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const owned = record(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
  for (const d of owned) d?.destroy();
}

const tensor = (buffer: GPUBuffer, dims: number[]): OrtTensor => {
  if (!ort) throw new Error('onnxruntime-web is loaded for --parts micro only');
  return gpuTensor(ort, buffer, 'float32', dims);
};

/** A one-node graph: Gemm(x, W[out, in], b, transB = 1) or Add(MatMul(x, Wt[in, out]), b). */
async function linearSession(kind: 'gemm' | 'matmul', inDim: number, outDim: number): Promise<OrtSession> {
  const b = new GraphBuilder(`linear-${kind}`, 'float32');
  const x = b.input('x', 'float32', ['rows', inDim]);
  const bias = b.weight('b', 'float32', [outDim], 'b');
  const y =
    kind === 'gemm'
      ? b.op('Gemm', [x, b.weight('w', 'float32', [outDim, inDim], 'w'), bias], { attributes: { transB: 1 } })
      : b.op('Add', [b.op('MatMul', [x, b.weight('w', 'float32', [inDim, outDim], 'w')]), bias]);
  b.op('Identity', [y], { outputs: ['y'] });
  b.output('y', 'float32', ['rows', outDim]);
  return createSession(ctx, encodeOnnxModel(b.build().graph));
}

const block0 = WEIGHTS.visionBlock(0);
const shapesOf = (n: number): { name: string; rows: number; inDim: number; outDim: number; weights: AffineNames }[] => [
  // The patch embedding has no bias: it borrows one of width E.
  { name: 'patch', rows: n, inDim: visionPatchDim(v), outDim: E, weights: { weight: WEIGHTS.patchEmbed, bias: block0.proj.bias } },
  { name: 'qkv', rows: n, inDim: E, outDim: 3 * E, weights: block0.qkv },
  { name: 'proj', rows: n, inDim: E, outDim: E, weights: block0.proj },
  { name: 'fc1', rows: n, inDim: E, outDim: v.mlpDim, weights: block0.fc1 },
  { name: 'fc2', rows: n, inDim: v.mlpDim, outDim: E, weights: block0.fc2 },
  { name: 'merger0', rows: n / 4, inDim: 4 * E, outDim: 4 * E, weights: WEIGHTS.merger.fc1 },
];

async function micro(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const tilings = TILING_CANDIDATES.filter((t) => visionLinearTilingFits(t, device.limits));
  const inner = 5;
  for (const n of cases) {
    for (const s of shapesOf(n)) {
      const flop = 2 * s.rows * s.inDim * s.outDim;
      const elementBytes = storage === 'f16' ? 2 : 4;
      const x = createStorageBuffer(device, 'x', s.rows * s.inDim * elementBytes);
      const y = createStorageBuffer(device, 'y', s.rows * s.outDim * elementBytes);
      const w = weights.get(s.weights.weight).buffer;
      const bias = weights.get(s.weights.bias).buffer;
      const row: Record<string, unknown> = { patches: n, shape: s.name, storage, rows: s.rows, inDim: s.inDim, outDim: s.outDim, gflop: r2(flop / 1e9) };
      const tflops = (ms: number): number => r2(flop / (ms * 1e9));
      // onnxruntime-web's f32 Gemm / MatMul: the baseline for f32 storage only.
      for (const kind of storage === 'f32' ? (['gemm', 'matmul'] as const) : []) {
        const session = await linearSession(kind, s.inDim, s.outDim);
        const feeds = { x: tensor(x, [s.rows, s.inDim]), w: tensor(w, kind === 'gemm' ? [s.outDim, s.inDim] : [s.inDim, s.outDim]), b: tensor(bias, [s.outDim]) };
        const ms =
          (await timeIt(async () => {
            for (let i = 0; i < inner; i++) await session.run(feeds, { y: tensor(y, [s.rows, s.outDim]) });
          })) / inner;
        row[`ort-${kind}-ms`] = r2(ms);
        row[`ort-${kind}-tflops`] = tflops(ms);
        await session.release();
      }
      const run = async (tiling: VisionLinearTiling): Promise<number> =>
        (await timeIt(() => submitPass((pass) => Array.from({ length: inner }, () => encodeVisionLinear(kernels, pass, { x, weight: w, bias, y }, s, { tiling, storage }))))) / inner;
      for (const t of tilings) {
        const ms = await run(t);
        const key = `ours-${visionLinearTilingName(t)}`;
        row[`${key}-ms`] = r2(ms);
        row[`${key}-tflops`] = tflops(ms);
      }
      const chosen = chooseVisionLinearTiling(s, device.limits);
      row.chosen = visionLinearTilingName(chosen);
      x.destroy();
      y.destroy();
      log(JSON.stringify(row));
      rows.push(row);
    }
  }
  results.micro = rows;
}

interface TowerBuffers {
  pixels: GPUBuffer;
  hidden: GPUBuffer;
  normed: GPUBuffer;
  qkv: GPUBuffer;
  attn: GPUBuffer;
  mlp: GPUBuffer;
  merged: GPUBuffer;
  projected: GPUBuffer;
  features: GPUBuffer;
  cos: GPUBuffer;
  sin: GPUBuffer;
  cuSeqlens: GPUBuffer;
}

function towerBuffers(n: number, grid: PatchGrid): TowerBuffers {
  const f = (label: string, floats: number): GPUBuffer => createStorageBuffer(device, label, floats * 4);
  const tables = visionRotaryTables([grid], E / v.numHeads, v.ropeTheta, v.spatialMergeSize);
  const upload = (label: string, data: Float32Array | Uint32Array): GPUBuffer => {
    const b = createStorageBuffer(device, label, data.byteLength);
    device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  };
  return {
    pixels: upload('pixels', randomFloats(n * visionPatchDim(v), 3)),
    hidden: f('hidden', n * E),
    normed: f('normed', n * E),
    qkv: f('qkv', n * 3 * E),
    attn: f('attn', n * E),
    mlp: f('mlp', n * v.mlpDim),
    merged: f('merged', n * E),
    projected: f('projected', (n / 4) * v.outHiddenSize),
    features: f('features', (n / 4) * v.outHiddenSize),
    cos: upload('cos', tables.cos),
    sin: upload('sin', tables.sin),
    cuSeqlens: upload('cu', new Uint32Array(visionCuSeqlens([grid]))),
  };
}

async function tower(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const n of cases) {
    const grid = gridOf(n);
    const cu = visionCuSeqlens([grid]);
    const b = towerBuffers(n, grid);
    const heads = { heads: v.numHeads, headDim: E / v.numHeads, cuSeqlens: cu };
    const attention = (pass: GPUComputePassEncoder): KernelDispatch => encodeVisionAttention(kernels, pass, { qkv: b.qkv, cos: b.cos, sin: b.sin, cuSeqlens: b.cuSeqlens, out: b.attn }, heads, { storage });
    const c: VisionTowerContext = { kernels, weights, vision: v, storage };
    const newPath = (tower: VisionTowerContext = c): void =>
      submitPass((pass) => [
        ...encodeVisionPatchEmbed(tower, pass, { pixels: b.pixels, hidden: b.hidden }, n),
        ...Array.from({ length: v.depth }, (_, block) => encodeVisionBlock(tower, pass, block, b, cu)).flat(),
        ...encodeVisionMerger(tower, pass, b, n),
      ]);
    const row: Record<string, unknown> = { patches: n, grid };
    row.newMs = r2(await timeIt(() => newPath()));
    // The same tower with its dense layers on subgroup matrices, where the device has them (issue 14).
    const mma = visionLinearMmaPlan(ctx.capabilities, device.limits);
    if (mma) row.newMmaMs = r2(await timeIt(() => newPath({ ...c, linearMma: mma })));
    // … and with its attention on them (vision-attention-mma), the dense layers plain.
    if (chooseVisionAttentionMma(ctx.capabilities, E / v.numHeads).plan) {
      row.newAttentionMmaMs = r2(await timeIt(() => newPath({ ...c, subgroupMatrix: ctx.capabilities, attentionPath: 'mma' })));
    }
    if (storage === 'f16') {
      row.storage = storage;
      row.newTflops = r2(towerFlop(n) / ((row.newMs as number) * 1e9));
      row.attentionMs = r2(await timeIt(() => submitPass((pass) => Array.from({ length: v.depth }, () => attention(pass)))));
      // Every dense layer with one tiling of the sweep instead of the chosen ones (--sweep).
      for (const tiling of argv.includes('--sweep') ? TILING_CANDIDATES.slice(1) : []) {
        if (visionLinearTilingFits(tiling, device.limits)) row[`new-${visionLinearTilingName(tiling)}-ms`] = r2(await timeIt(() => newPath({ ...c, tiling })));
      }
      log(JSON.stringify(row));
      rows.push(row);
      for (const buffer of Object.values(b)) buffer.destroy();
      continue;
    }
    // Attention with fewer query rows per workgroup (more workgroups for small images).
    for (const rowGroups of n <= 4096 ? [4, 8] : []) {
      const headVec4s = E / v.numHeads / 4;
      const keys = 20;
      const attentionTiling = { rowGroups, rows: 4 * rowGroups, keys, headVec4s, workgroupSize: rowGroups * headVec4s, workgroupStorageBytes: visionAttentionStorageBytes(rowGroups, keys, headVec4s) };
      row[`new-attention-${rowGroups}x${keys}-ms`] = r2(await timeIt(() => newPath({ ...c, attentionTiling })));
      row[`attention-${rowGroups}x${keys}-ms`] = r2(
        await timeIt(() => submitPass((pass) => Array.from({ length: v.depth }, () => encodeVisionAttention(kernels, pass, { qkv: b.qkv, cos: b.cos, sin: b.sin, cuSeqlens: b.cuSeqlens, out: b.attn }, heads, { tiling: attentionTiling })))),
      );
    }
    // Every dense layer with one tiling instead of the chosen ones.
    for (const tiling of [VISION_LINEAR_MEDIUM]) {
      if (visionLinearTilingFits(tiling, device.limits)) row[`new-${visionLinearTilingName(tiling)}-ms`] = r2(await timeIt(() => newPath({ ...c, tiling })));
    }
    // The new path's parts alone (same dispatches, grouped).
    const lin = (pass: GPUComputePassEncoder, names: AffineNames, x: GPUBuffer, y: GPUBuffer, inDim: number, outDim: number, epilogue: 'none' | 'quick-gelu' | 'gelu' | 'residual', rowsN = n): KernelDispatch | null =>
      encodeVisionLinear(kernels, pass, { x, y, weight: weights.get(names.weight).buffer, bias: weights.get(names.bias).buffer }, { rows: rowsN, inDim, outDim }, { epilogue });
    row.denseMs = r2(
      await timeIt(() =>
        submitPass((pass) => [
          ...encodeVisionPatchEmbed(c, pass, { pixels: b.pixels, hidden: b.hidden }, n),
          ...Array.from({ length: v.depth }, (_, k) => {
            const block = WEIGHTS.visionBlock(k);
            return [
              lin(pass, block.qkv, b.normed, b.qkv, E, 3 * E, 'none'),
              lin(pass, block.proj, b.attn, b.hidden, E, E, 'residual'),
              lin(pass, block.fc1, b.normed, b.mlp, E, v.mlpDim, 'quick-gelu'),
              lin(pass, block.fc2, b.mlp, b.hidden, v.mlpDim, E, 'residual'),
            ];
          }).flat(),
          lin(pass, WEIGHTS.merger.fc1, b.normed, b.merged, 4 * E, 4 * E, 'gelu', n / 4),
          lin(pass, WEIGHTS.merger.fc2, b.merged, b.projected, 4 * E, v.outHiddenSize, 'none', n / 4),
        ]),
      ),
    );
    row.attentionMs = r2(await timeIt(() => submitPass((pass) => Array.from({ length: v.depth }, () => attention(pass)))));
    const ln = (pass: GPUComputePassEncoder, names: AffineNames): KernelDispatch | null =>
      encodeVisionLayerNorm(kernels, pass, { x: b.hidden, y: b.normed, gamma: weights.get(names.weight).buffer, beta: weights.get(names.bias).buffer }, { rows: n, dim: E, eps: v.layerNormEps });
    row.layerNormMs = r2(await timeIt(() => submitPass((pass) => Array.from({ length: v.depth }, (_, k) => [ln(pass, WEIGHTS.visionBlock(k).norm1), ln(pass, WEIGHTS.visionBlock(k).norm2)]).flat())));
    const flop = towerFlop(n);
    row.gflop = r2(flop / 1e9);
    row.newTflops = r2(flop / ((row.newMs as number) * 1e9));
    log(JSON.stringify(row));
    rows.push(row);
    for (const buffer of Object.values(b)) buffer.destroy();
  }
  results.tower = rows;
}

/** Dense FLOPs of the tower for one image of n patches (attention excluded: 4·n²·E per block on top). */
function towerFlop(n: number): number {
  const perBlock = 2 * n * E * (3 * E + E + 2 * v.mlpDim);
  const group = 4 * E;
  return 2 * n * visionPatchDim(v) * E + v.depth * perBlock + 2 * (n / 4) * group * (group + v.outHiddenSize);
}

const save = (): void => {
  if (out) writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
};
// The tower first: it is the number that matters; each part is saved as soon as it is done.
if (parts.includes('tower')) await tower();
save();
if (parts.includes('micro')) await micro();
save();
log('done');
process.exit(0);
