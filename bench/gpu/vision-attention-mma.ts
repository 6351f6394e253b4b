/**
 * GPU check of the subgroup-matrix vision attention (shaders/vision/attention/vision-attention-mma*.ts) on the GPU
 * machine, in one run (≲ 90 s on the H200): staged by bench/gpu/stage-vision-attention-mma.sh, run as
 *   source .gpu/env.sh && "$NODE" bench/out/gpu-vision-attention-mma/vision-attention-mma.mjs \
 *     --dawn-flags allow_unsafe_apis,vulkan_enable_f16_on_nvidia --out $OUT
 * Steps, each caught and reported on its own (one failure never hides the others):
 *   1. the adapter: features, subgroup sizes, subgroupMatrixConfigs, the plan chosen per head size
 *   2. compile: the head-80 variant in both builtin spellings ('template', 'flag'), full getCompilationInfo messages;
 *      the first that compiles is used below
 *   3. a register-resident MMA loop (4 accumulators, the plan's f16 → f32 shape): the measured tensor-core peak
 *   4. correctness against the plain-TS f64 reference (small shapes, head sizes 80 / 40 / 16 / 8, several images,
 *      sharp and rising softmaxes, f16 storage) and against the plain kernel (the real shapes), PASS/FAIL against
 *      the stated f16 bound
 *   5. time: plain kernel vs subgroup-matrix kernel, f32 and f16 storage, at Qwen2-VL's 1024 / 3996 / 12288 patches
 *      (16 heads × 80), GPU time from timestamp queries, TFLOP/s (4 · len² · headDim · heads) and % of step 3
 * Writes $OUT/vision-attention-mma.json and prints a table last.
 * `--emulate` (a dry run of this script on an adapter without subgroup matrices, e.g. lavapipe here): pretends the
 * adapter has one f16 → f32 config and runs the kernel in the software spelling of the tests, on small shapes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../src/gpu/gpu-buffers';
import { KernelCache } from '../../src/gpu/kernel';
import { type PatchGrid, visionCuSeqlens, visionRotaryTables } from '../../src/processor/vision-rotary';
import { compareArrays, randomFloats } from '../../src/testing/compare';
import { encodeVisionAttention, type VisionAttentionBuffers, type VisionAttentionStorage } from '../../shaders/vision/attention/vision-attention';
import { encodeVisionAttentionMma, type NamedMatrixSpelling, visionAttentionMmaKernel } from '../../shaders/vision/attention/vision-attention-mma';
import { chooseVisionAttentionMma, type VisionAttentionMmaPlan, visionAttentionMmaStorageBytes } from '../../shaders/vision/attention/vision-attention-mma-plan';
import { SUBGROUP_MATRIX_SPELLINGS, type SubgroupMatrixSyntax } from '../../shaders/vision/attention/vision-attention-mma-wgsl';
import { EMULATED_MATRIX_SPELLING } from '../../shaders/vision/attention/vision-attention-mma-test-spelling';
import { visionAttentionReference } from '../../shaders/vision/attention/vision-attention-reference';
import { fromStorage, toStorage } from '../../shaders/vision/storage-test-data';
import { benchGpuContext } from './bench-gpu';

const outDir = (() => {
  const i = process.argv.indexOf('--out');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();
const EMULATE = process.argv.includes('--emulate');
const report: Record<string, unknown> = { started: new Date().toISOString(), emulate: EMULATE };
const log = (line: string): void => console.log(line);
const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}${e.cause ? ` (cause: ${String(e.cause)})` : ''}` : String(e));
function save(): void {
  if (!outDir) return;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'vision-attention-mma.json'), JSON.stringify(report, null, 1));
}

// f16 bound (see vision-attention-mma.test.ts): q, rope(k), v, P in f16 → ≲ 3e-3 absolute on outputs of |v| ≤ 1 with
// |scores| ≲ 4 (log2 domain); sharp cases scale the score error. Real shapes compare against the f32 plain kernel.
const BOUND = 4e-3;
const BOUND_SHARP = 2e-2;

async function main(): Promise<void> {
  const ctx = await benchGpuContext();
  const { device } = ctx;
  const caps = EMULATE
    ? {
        ...ctx.capabilities,
        subgroupMatrix: true,
        subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: ctx.capabilities.subgroupMinSize / 2, N: 8, K: 8 }],
      }
    : ctx.capabilities;
  void ctx.lost.then((e) => log(`DEVICE LOST: ${e.message}`));
  device.addEventListener('uncapturederror', (ev) => log(`UNCAPTURED GPU ERROR: ${(ev as GPUUncapturedErrorEvent).error.message}`));

  // 1. Adapter
  const adapterInfo = {
    vendor: caps.vendor,
    architecture: caps.architecture,
    description: caps.description,
    features: [...device.features].sort(),
    shaderF16: caps.shaderF16,
    subgroups: caps.subgroups,
    subgroupMinSize: caps.subgroupMinSize,
    subgroupMaxSize: caps.subgroupMaxSize,
    subgroupMatrix: caps.subgroupMatrix,
    subgroupMatrixConfigs: caps.subgroupMatrixConfigs,
    maxComputeWorkgroupStorageSize: caps.maxComputeWorkgroupStorageSize,
    timestampQuery: caps.timestampQuery,
  };
  report.adapter = adapterInfo;
  log(`adapter: ${caps.vendor} / ${caps.architecture} / ${caps.description}`);
  log(`features: ${adapterInfo.features.join(', ')}`);
  log(`subgroups ${caps.subgroupMinSize}–${caps.subgroupMaxSize}; subgroupMatrixConfigs:`);
  for (const c of caps.subgroupMatrixConfigs) log(`  ${c.componentType} → ${c.resultComponentType}  M${c.M} N${c.N} K${c.K}`);
  // The plan per head size (emulated: 16-key tiles, which keep lavapipe's compile of the software spelling short).
  const planFor = (headDim: number): VisionAttentionMmaPlan | string => {
    const { plan, reason } = chooseVisionAttentionMma(caps, headDim);
    if (!plan) return `none: ${reason}`;
    if (!EMULATE) return plan;
    const keys = 16;
    return { ...plan, keys, pStride: keys + 8, sStride: keys, workgroupStorageBytes: visionAttentionMmaStorageBytes(plan.rows, keys, plan.kvStride, keys + 8, keys) };
  };
  // The same plan with q in its own workgroup tile (fragments loaded per key tile), keys shrunk until it fits.
  const ownQOf = (plan: VisionAttentionMmaPlan): VisionAttentionMmaPlan => {
    const step = Math.max(plan.N, plan.K);
    for (let keys = plan.keys; keys >= step; keys -= step) {
      const pStride = keys + 8;
      const bytes = visionAttentionMmaStorageBytes(plan.rows, keys, plan.kvStride, pStride, keys, true);
      if (bytes <= caps.maxComputeWorkgroupStorageSize) return { ...plan, ownQ: true, keys, pStride, sStride: keys, workgroupStorageBytes: bytes };
    }
    throw new Error(`no own-q variant of ${JSON.stringify(plan)} fits`);
  };
  const plans: Record<number, VisionAttentionMmaPlan | string> = {};
  for (const headDim of [80, 40, 16, 8, 64, 128]) {
    plans[headDim] = planFor(headDim);
    log(`plan head ${headDim}: ${JSON.stringify(plans[headDim])}`);
  }
  report.plans = plans;
  save();
  // The real head (80); the emulated dry run uses 16 throughout (lavapipe compiles the software spelling slowly).
  const mainHead = EMULATE ? 16 : 80;
  const plan80 = plans[mainHead];
  if (plan80 === undefined || typeof plan80 === 'string') {
    log(`NO PLAN for head ${mainHead} (${plan80}): the engine keeps the plain kernel here. Check --dawn-flags.`);
    report.verdict = 'no-plan';
    save();
    return;
  }

  // 2. Compile both spellings, full messages.
  const compiled: Record<string, unknown> = {};
  let syntax: SubgroupMatrixSyntax | NamedMatrixSpelling | undefined;
  const emulated: NamedMatrixSpelling = { name: 'emulated', spelling: EMULATED_MATRIX_SPELLING };
  for (const s of EMULATE ? [emulated] : (['template', 'flag'] as const)) {
    const sName = typeof s === 'string' ? s : s.name;
    for (const storage of ['f32', 'f16'] as const) {
      const kernel = visionAttentionMmaKernel(storage, plan80, s);
      try {
        device.pushErrorScope('validation');
        const module = device.createShaderModule({ label: kernel.name, code: kernel.code });
        const info = await module.getCompilationInfo();
        const messages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
        let pipelineError: string | null = null;
        if (!info.messages.some((m) => m.type === 'error')) {
          try {
            await device.createComputePipelineAsync({ label: kernel.name, layout: 'auto', compute: { module, entryPoint: 'main' } });
          } catch (e) {
            pipelineError = errorText(e);
          }
        }
        const scope = await device.popErrorScope();
        const ok = !info.messages.some((m) => m.type === 'error') && !pipelineError && !scope;
        compiled[`${sName}/${storage}`] = { ok, messages, pipelineError, scope: scope?.message ?? null };
        log(`compile ${sName}/${storage}: ${ok ? 'OK' : 'FAILED'}${messages.length ? `\n    ${messages.join('\n    ')}` : ''}${pipelineError ? `\n    pipeline: ${pipelineError}` : ''}${scope ? `\n    scope: ${scope.message}` : ''}`);
        if (!ok && storage === 'f32') {
          const lines = kernel.code.split('\n');
          for (const m of info.messages.filter((x) => x.type === 'error')) {
            log(`    source around line ${m.lineNum}:`);
            for (let l = Math.max(0, m.lineNum - 3); l < Math.min(lines.length, m.lineNum + 2); l++) log(`    ${l + 1}| ${lines[l]}`);
          }
        }
        if (ok && storage === 'f16' && (compiled[`${sName}/f32`] as { ok: boolean }).ok) syntax ??= s;
      } catch (e) {
        compiled[`${sName}/${storage}`] = { ok: false, error: errorText(e) };
        log(`compile ${sName}/${storage}: THREW ${errorText(e)}`);
      }
    }
  }
  report.compile = compiled;
  report.syntax = syntax === undefined ? null : typeof syntax === 'string' ? syntax : syntax.name;
  save();
  if (!syntax) {
    log('NEITHER SPELLING COMPILES: see the messages above.');
    report.verdict = 'compile-failed';
    save();
    return;
  }
  const syntaxName = typeof syntax === 'string' ? syntax : syntax.name;
  log(`using spelling '${syntaxName}'`);
  const kernels = new KernelCache(device);

  // 3. MMA peak
  let peakTflops = NaN;
  try {
    if (typeof syntax !== 'string') throw new Error('skipped (emulated)');
    peakTflops = await mmaPeak(device, plan80, syntax);
    log(`MMA loop peak (f16 → f32 M${plan80.M} N${plan80.N} K${plan80.K}): ${peakTflops.toFixed(1)} TFLOP/s`);
  } catch (e) {
    log(`MMA peak FAILED: ${errorText(e)}`);
  }
  report.peakTflops = peakTflops;
  save();

  // 4. Correctness
  interface Check {
    name: string;
    grids: PatchGrid[];
    heads: number;
    headDim: number;
    qkScale?: number;
    rise?: number;
    storage?: VisionAttentionStorage;
    ownQ?: boolean;
  }
  const allChecks: Check[] = [
    { name: 'head 80, 3 images 4/60/28 rows', grids: [g(2, 2), g(6, 10), g(14, 2)], heads: 2, headDim: 80 },
    { name: 'head 80, 1 image 20×24 (480 rows, 8 key tiles)', grids: [g(20, 24)], heads: 2, headDim: 80 },
    { name: 'head 40 (padded to 48), 3 heads, 10×14', grids: [g(10, 14)], heads: 3, headDim: 40 },
    { name: 'head 16, sharp + rising (rescales), 2 images', grids: [g(12, 12), g(2, 6)], heads: 2, headDim: 16, qkScale: 4, rise: 3 },
    { name: 'head 8, 5 images of odd sizes', grids: [g(2, 2), g(2, 6), g(6, 6), g(4, 10), g(2, 34)], heads: 3, headDim: 8 },
    { name: 'head 80, f16 storage, 2 images', grids: [g(6, 10), g(8, 18)], heads: 2, headDim: 80, storage: 'f16' },
    { name: 'head 80, sharp (q, k × 3), 16×16', grids: [g(16, 16)], heads: 2, headDim: 80, qkScale: 3 },
  ];
  const checks = allChecks.filter((c) => !EMULATE || c.headDim === mainHead);
  const results: Record<string, unknown>[] = [];
  for (const c of checks.flatMap((x) => [x, { ...x, name: `${x.name}, own q tile`, ownQ: true }])) {
    try {
      const basePlan = planFor(c.headDim);
      if (typeof basePlan === 'string') throw new Error(`no plan: ${basePlan}`);
      const plan = c.ownQ ? ownQOf(basePlan) : basePlan;
      const storage = c.storage ?? 'f32';
      const tables = visionRotaryTables(c.grids, c.headDim);
      const width = c.heads * c.headDim;
      const qkv = randomFloats(tables.patches * 3 * width, 7);
      for (let r = 0; r < tables.patches; r++) {
        for (let i = 0; i < 2 * width; i++) {
          const rise = i >= width && c.rise ? 1 + (c.rise * r) / tables.patches : 1;
          qkv[r * 3 * width + i] = (qkv[r * 3 * width + i] ?? 0) * (c.qkScale ?? 1) * rise;
        }
      }
      const shape = { heads: c.heads, headDim: c.headDim, cuSeqlens: visionCuSeqlens(c.grids) };
      const got = await runAttention(device, kernels, 'mma', toStorage(qkv, storage), tables, shape, storage, plan, syntax);
      const stats = compareArrays(fromStorage(got.out, storage), visionAttentionReference(qkv, tables.cos, tables.sin, shape));
      const bound = (c.qkScale ? BOUND_SHARP : BOUND) + (storage === 'f16' ? 5e-4 : 0);
      const pass = stats.maxAbs < bound && Number.isFinite(stats.maxAbs);
      results.push({ name: c.name, storage, ...stats, bound, pass });
      log(`check ${pass ? 'PASS' : 'FAIL'} ${c.name} [${storage}]: maxAbs ${stats.maxAbs.toExponential(2)} (bound ${bound}), ${JSON.stringify(stats)}`);
    } catch (e) {
      results.push({ name: c.name, pass: false, error: errorText(e) });
      log(`check ERROR ${c.name}: ${errorText(e)}`);
    }
    report.checks = results;
    save();
  }

  // 5. Timing at the real shapes (and the mma kernel against the plain f32 kernel there).
  const timings: Record<string, unknown>[] = [];
  const heads = EMULATE ? 2 : 16;
  const headDim = mainHead;
  // Random qkv per shape and storage, made once (12288 patches: 47 M values).
  const storedCache = new Map<string, Float32Array | Uint16Array>();
  const storedFor = (patches: number, storage: VisionAttentionStorage): Float32Array | Uint16Array => {
    const key = `${patches}/${storage}`;
    let stored = storedCache.get(key);
    if (!stored) {
      stored = toStorage(randomFloats(patches * 3 * heads * headDim, 3), storage);
      storedCache.set(key, stored);
    }
    return stored;
  };
  for (const grid of EMULATE ? [g(16, 16)] : [g(32, 32), g(54, 74), g(96, 128)]) {
    const patches = grid.h * grid.w;
    const tables = visionRotaryTables([grid], headDim);
    const shape = { heads, headDim, cuSeqlens: visionCuSeqlens([grid]) };
    const flop = 4 * patches ** 2 * headDim * heads;
    const outputs: Partial<Record<string, Float32Array>> = {};
    for (const storage of ['f32', 'f16'] as const) {
      const stored = storedFor(patches, storage);
      // 'mma-eager': the same kernel rescaling O at every rise of a row's max (rescaleLog2 0), for the design choice.
      for (const kind of ['plain', 'mma', 'mma-eager', 'mma-ownq'] as const) {
        const key = `${patches} ${kind} ${storage}`;
        try {
          const plan = kind === 'mma-eager' ? { ...plan80, rescaleLog2: 0 } : kind === 'mma-ownq' ? ownQOf(plan80) : plan80;
          const r = await runAttention(device, kernels, kind === 'plain' ? 'plain' : 'mma', stored, tables, shape, storage, plan, syntax, patches >= 10000 ? 3 : 5);
          outputs[`${kind} ${storage}`] = fromStorage(r.out, storage);
          const ms = r.gpuMs ?? r.wallMs;
          const tflops = flop / (ms * 1e-3) / 1e12;
          const row = { patches, kind, storage, gpuMs: r.gpuMs, wallMs: r.wallMs, tflops: Number(tflops.toFixed(2)), pctPeak: Number(((100 * tflops) / peakTflops).toFixed(1)) };
          timings.push(row);
          log(`time ${key}: ${ms.toFixed(3)} ms, ${tflops.toFixed(1)} TFLOP/s (${row.pctPeak} % of the MMA loop)`);
        } catch (e) {
          timings.push({ patches, kind, storage, error: errorText(e) });
          log(`time ERROR ${key}: ${errorText(e)}`);
        }
      }
      const plain = outputs[`plain ${storage}`];
      for (const kind of ['mma', 'mma-eager', 'mma-ownq']) {
        const mma = outputs[`${kind} ${storage}`];
        if (!plain || !mma) continue;
        const stats = compareArrays(mma, plain);
        const pass = stats.maxAbs < BOUND + (storage === 'f16' ? 1e-3 : 0);
        results.push({ name: `${patches} patches × ${heads} heads × ${headDim}, ${kind} vs the plain kernel`, storage, ...stats, pass });
        log(`check ${pass ? 'PASS' : 'FAIL'} ${patches} patches, ${kind} vs plain [${storage}]: ${JSON.stringify(stats)}`);
      }
      report.timings = timings;
      report.checks = results;
      save();
    }
  }
  // 6. Tile sweep at 12288 patches (subgroups × keys per tile), for the next tuning step.
  const sweep: Record<string, unknown>[] = [];
  if (!EMULATE && process.argv.includes('--sweep')) {
    const grid = g(96, 128);
    const patches = grid.h * grid.w;
    const tables = visionRotaryTables([grid], headDim);
    const shape = { heads, headDim, cuSeqlens: visionCuSeqlens([grid]) };
    const flop = 4 * patches ** 2 * headDim * heads;
    for (const storage of ['f16', 'f32'] as const) {
      const stored = storedFor(patches, storage);
      for (const [subgroups, keys] of [[4, 64], [4, 32], [2, 64], [2, 32], [4, 48]] as const) {
        const rows = subgroups * plan80.M;
        const pStride = keys + 8;
        const variant: VisionAttentionMmaPlan = {
          ...plan80,
          subgroups,
          rows,
          keys,
          pStride,
          sStride: keys,
          workgroupSize: subgroups * plan80.subgroupSize,
          workgroupStorageBytes: visionAttentionMmaStorageBytes(rows, keys, plan80.kvStride, pStride, keys),
        };
        const label = `${subgroups}x${plan80.M} rows, ${keys} keys, ${storage}`;
        if (variant.workgroupStorageBytes > caps.maxComputeWorkgroupStorageSize || keys % plan80.N !== 0 || keys % plan80.K !== 0) {
          log(`sweep ${label}: does not fit (${variant.workgroupStorageBytes} B)`);
          continue;
        }
        try {
          const r = await runAttention(device, kernels, 'mma', stored, tables, shape, storage, variant, syntax, 3);
          const ms = r.gpuMs ?? r.wallMs;
          const tflops = flop / (ms * 1e-3) / 1e12;
          sweep.push({ subgroups, keys, storage, ms, tflops: Number(tflops.toFixed(2)) });
          log(`sweep ${label}: ${ms.toFixed(3)} ms, ${tflops.toFixed(1)} TFLOP/s`);
        } catch (e) {
          sweep.push({ subgroups, keys, storage, error: errorText(e) });
          log(`sweep ERROR ${label}: ${errorText(e)}`);
        }
        report.sweep = sweep;
        save();
      }
    }
  }

  const allPass = results.every((r) => r.pass === true);
  report.verdict = allPass ? 'PASS' : 'FAIL';
  report.finished = new Date().toISOString();
  save();

  log('\n== summary ==');
  log(`spelling ${syntaxName}; plan80 ${JSON.stringify(plan80)}; MMA loop peak ${peakTflops.toFixed(1)} TFLOP/s`);
  log('checks:');
  for (const r of results) log(`  ${r.pass ? 'PASS' : 'FAIL'}  ${String(r.name)} [${String(r.storage ?? '')}] maxAbs ${typeof r.maxAbs === 'number' ? r.maxAbs.toExponential(2) : String(r.error)}`);
  log('patches  kind       storage  ms        TFLOP/s  %peak');
  for (const t of timings) {
    log(`${String(t.patches).padEnd(8)} ${String(t.kind).padEnd(10)} ${String(t.storage).padEnd(8)} ${t.error ? `ERROR ${String(t.error)}` : `${Number(t.gpuMs ?? t.wallMs).toFixed(3).padEnd(9)} ${String(t.tflops).padEnd(8)} ${String(t.pctPeak)}`}`);
  }
  log(`verdict: ${String(report.verdict)}`);
}

function g(h: number, w: number): PatchGrid {
  return { t: 1, h, w };
}

/** Runs one attention call `reps` times after a warm-up; returns the output and the median times. */
async function runAttention(
  device: GPUDevice,
  kernels: KernelCache,
  kind: 'plain' | 'mma',
  stored: Float32Array | Uint16Array,
  tables: { cos: Float32Array; sin: Float32Array; patches: number },
  shape: { heads: number; headDim: number; cuSeqlens: number[] },
  storage: VisionAttentionStorage,
  plan: VisionAttentionMmaPlan,
  syntax: SubgroupMatrixSyntax | NamedMatrixSpelling,
  reps = 0,
): Promise<{ out: ArrayBuffer; gpuMs: number | null; wallMs: number }> {
  const outBytes = tables.patches * shape.heads * shape.headDim * (storage === 'f16' ? 2 : 4);
  const buffers: VisionAttentionBuffers = {
    qkv: uploadBuffer(device, 'mma-bench.qkv', stored),
    cos: uploadBuffer(device, 'mma-bench.cos', tables.cos),
    sin: uploadBuffer(device, 'mma-bench.sin', tables.sin),
    cuSeqlens: uploadBuffer(device, 'mma-bench.cu_seqlens', new Uint32Array(shape.cuSeqlens)),
    out: createStorageBuffer(device, 'mma-bench.out', outBytes),
  };
  const querySet = device.features.has('timestamp-query') ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
  const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const gpuMs: number[] = [];
  const wallMs: number[] = [];
  try {
    for (let rep = 0; rep <= reps; rep++) {
      device.pushErrorScope('validation');
      device.pushErrorScope('internal');
      device.pushErrorScope('out-of-memory');
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
      const dispatch =
        kind === 'mma'
          ? encodeVisionAttentionMma(kernels, pass, buffers, shape, { plan, storage, syntax })
          : encodeVisionAttention(kernels, pass, buffers, shape, { storage });
      pass.end();
      if (querySet) encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      const t0 = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      const t1 = performance.now();
      dispatch.destroy();
      const errors = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()].filter((e) => e !== null);
      if (errors.length) throw new Error(errors.map((e) => e.message).join(' | '));
      if (rep === 0 && reps > 0) continue; // warm-up (pipeline compile)
      wallMs.push(t1 - t0);
      if (querySet) {
        const ns = new BigInt64Array(await readBuffer(device, resolve, 16));
        gpuMs.push(Number((ns[1] ?? 0n) - (ns[0] ?? 0n)) / 1e6);
      }
    }
    const out = await readBuffer(device, buffers.out, outBytes);
    return { out, gpuMs: gpuMs.length ? median(gpuMs) : null, wallMs: median(wallMs) };
  } finally {
    for (const b of Object.values(buffers)) b.destroy();
    resolve.destroy();
    querySet?.destroy();
  }
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/**
 * TFLOP/s of a register-resident multiply-accumulate loop in the plan's f16 → f32 shape: 8448 workgroups of one
 * subgroup, 4 independent accumulators, ITERS steps each (operands loaded once from workgroup memory).
 */
async function mmaPeak(device: GPUDevice, plan: VisionAttentionMmaPlan, syntax: SubgroupMatrixSyntax): Promise<number> {
  const { M, N, K, subgroupSize } = plan;
  const spelling = SUBGROUP_MATRIX_SPELLINGS[syntax];
  const left = spelling.type('left', M, N, K);
  const right = spelling.type('right', M, N, K);
  const result = spelling.type('result', M, N, K);
  const ITERS = 1024;
  const WORKGROUPS = 8448;
  const code = `${spelling.header}
@group(0) @binding(0) var<storage, read_write> sink: array<f32>;
var<workgroup> a: array<f16, ${M * K}>;
var<workgroup> b: array<f16, ${K * N}>;
var<workgroup> c: array<f32, ${4 * M * N}>;
@compute @workgroup_size(${subgroupSize})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  for (var i = lid; i < ${M * K}u; i += ${subgroupSize}u) { a[i] = f16(f32(i % 7u) * 0.001); }
  for (var i = lid; i < ${K * N}u; i += ${subgroupSize}u) { b[i] = f16(f32(i % 5u) * 0.001); }
  workgroupBarrier();
  let l = ${spelling.load('left', left, 'a', '0u', 'row_major', `${K}u`)};
  let r = ${spelling.load('right', right, 'b', '0u', 'row_major', `${N}u`)};
  var c0 = ${result}();
  var c1 = ${result}();
  var c2 = ${result}();
  var c3 = ${result}();
  for (var i = 0u; i < ${ITERS}u; i++) {
    c0 = ${spelling.mma}(l, r, c0);
    c1 = ${spelling.mma}(l, r, c1);
    c2 = ${spelling.mma}(l, r, c2);
    c3 = ${spelling.mma}(l, r, c3);
  }
  ${spelling.store('c', '0u', 'c0', `${N}u`)};
  ${spelling.store('c', `${M * N}u`, 'c1', `${N}u`)};
  ${spelling.store('c', `${2 * M * N}u`, 'c2', `${N}u`)};
  ${spelling.store('c', `${3 * M * N}u`, 'c3', `${N}u`)};
  workgroupBarrier();
  if (lid == 0u) {
    sink[wid.x] = c[0] + c[${M * N + 1}] + c[${2 * M * N + 2}] + c[${3 * M * N + 3}];
  }
}`;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: 'mma-peak', code });
  const info = await module.getCompilationInfo();
  if (info.messages.some((m) => m.type === 'error')) throw new Error(`mma-peak does not compile: ${info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join(' | ')}`);
  const pipeline = await device.createComputePipelineAsync({ label: 'mma-peak', layout: 'auto', compute: { module, entryPoint: 'main' } });
  const sink = device.createBuffer({ size: 4 * WORKGROUPS, usage: GPUBufferUsage.STORAGE });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: sink } }] });
  const querySet = device.features.has('timestamp-query') ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
  const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const times: number[] = [];
  for (let rep = 0; rep < 4; rep++) {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(WORKGROUPS);
    pass.end();
    if (querySet) encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    const t1 = performance.now();
    let ms = t1 - t0;
    if (querySet) {
      const ns = new BigInt64Array(await readBuffer(device, resolve, 16));
      ms = Number((ns[1] ?? 0n) - (ns[0] ?? 0n)) / 1e6;
    }
    if (rep > 0) times.push(ms);
  }
  const scope = await device.popErrorScope();
  if (scope) throw new Error(scope.message);
  sink.destroy();
  resolve.destroy();
  querySet?.destroy();
  const flop = WORKGROUPS * ITERS * 4 * 2 * M * N * K;
  return flop / (median(times) * 1e-3) / 1e12;
}

main().catch((e: unknown) => {
  log(`FATAL: ${errorText(e)}`);
  report.fatal = errorText(e);
  save();
  process.exitCode = 1;
});
