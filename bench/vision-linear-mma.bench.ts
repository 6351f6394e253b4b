/**
 * GPU check of the subgroup-matrix dense kernel (shaders/vision/linear/vision-linear-mma.*) on a real GPU, in one
 * process (≈ 60–90 s on an H200):
 *   1. the adapter: features, subgroup sizes, `subgroupMatrixConfigs`, the plan the engine would take;
 *   2. compile: every storage × candidate tiling, WGSL compilation messages printed in full;
 *   3. check: the kernel against the plain-TS reference (f64) on shapes that are not multiples of 16/32, every
 *      epilogue, both storages, with max abs / rel-L2 errors next to the current kernel's on the same inputs;
 *      PASS when rel-L2 ≤ 2e-3 and max |err| ≤ 2^-8 · max(1, max |ref|) (f16 operands: 2^-11 relative rounding each);
 *   4. peak: a register-resident multiply-accumulate loop (4 accumulators per subgroup) on the chosen configuration;
 *   5. time: the current kernel vs the MMA kernel (f16 and f32 storage) at the Qwen2-VL vision shapes
 *      (1024 / 3996 / 12288 patches), TFLOP/s and % of the measured peak; the MMA candidates at 12288 (f16);
 *   6. JSON with everything to --out.
 * Every case catches and prints its own errors, so one failure does not hide the others.
 *
 *   npx vite-node bench/vision-linear-mma.bench.ts -- --dawn-flags allow_unsafe_apis,vulkan_enable_f16_on_nvidia [--out f.json] [--quick]
 *     [--sizes 1024,3996,12288] [--check small]   (a CPU-adapter smoke run: --sizes 64 --check small --max-reps 1)
 * GPU machine: bash bench/gpu/stage-vision-linear-mma.sh, then the command it prints.
 */
import { writeFileSync } from 'node:fs';
import { readBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import type { SubgroupMatrixConfig } from '../src/gpu/gpu-context';
import { KernelCache, type KernelDispatch } from '../src/gpu/kernel';
import { compareArrays, randomFloats } from '../src/testing/compare';
import { chooseVisionLinearTiling, encodeVisionLinear, type VisionLinearEpilogue, type VisionStorage } from '../shaders/vision/linear/vision-linear';
import {
  encodeVisionLinearMma,
  VISION_LINEAR_MMA_CANDIDATES,
  VISION_LINEAR_MMA_DIRECTIVES,
  type VisionLinearMmaPlan,
  visionLinearMmaKernel,
  visionLinearMmaName,
  visionLinearMmaPlan,
} from '../shaders/vision/linear/vision-linear-mma';
import { visionLinearReference } from '../shaders/vision/linear/vision-linear-reference';
import { fromStorage, storageElementBytes, toStorage } from '../shaders/vision/storage-test-data';
import { benchGpuContext } from './gpu/bench-gpu';

const argv = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const out = value('out');
const quick = argv.includes('--quick');
// Smoke runs on a CPU adapter: --sizes 64 --check small.
const sizesArg = value('sizes');
const smallChecks = value('check') === 'small';
const maxReps = Number(value('max-reps') ?? 20);
const t0 = performance.now();
const log = (s: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}`);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const errText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
const report: Record<string, unknown> = { startedAt: new Date().toISOString() };
const save = (): void => {
  if (out) writeFileSync(out, JSON.stringify(report, null, 1));
};

const ctx = await benchGpuContext();
const { device, capabilities: caps } = ctx;
const uncaptured: string[] = [];
device.addEventListener('uncapturederror', (e) => {
  const message = (e as GPUUncapturedErrorEvent).error.message;
  uncaptured.push(message);
  console.log(`UNCAPTURED GPU ERROR: ${message}`);
});
const kernels = new KernelCache(device);

// 1. Adapter.
const features = [...device.features].sort();
log(`adapter ${caps.vendor} / ${caps.architecture} / ${caps.description}; subgroups ${caps.subgroupMinSize}..${caps.subgroupMaxSize}; workgroup storage ${device.limits.maxComputeWorkgroupStorageSize}`);
log(`device features: ${features.join(' ')}`);
log(`subgroupMatrixConfigs: ${caps.subgroupMatrixConfigs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ') || 'none'}`);
const plan = visionLinearMmaPlan(caps, device.limits);
log(`engine plan: ${plan ? visionLinearMmaName(plan) : 'none (the MMA path is off on this device)'}`);
report.adapter = { vendor: caps.vendor, architecture: caps.architecture, description: caps.description, subgroupMinSize: caps.subgroupMinSize, subgroupMaxSize: caps.subgroupMaxSize, features, configs: caps.subgroupMatrixConfigs };
report.plan = plan ? { name: visionLinearMmaName(plan), ...plan } : null;
save();

// 2. Compile every candidate, messages in full.
const storages: VisionStorage[] = ['f16', 'f32'];
const compiled = new Set<string>();
async function compileCheck(storage: VisionStorage, p: VisionLinearMmaPlan): Promise<boolean> {
  const kernel = visionLinearMmaKernel(storage, p);
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  const module = device.createShaderModule({ label: kernel.name, code: kernel.code });
  const info = await module.getCompilationInfo();
  let ok = !info.messages.some((m) => m.type === 'error');
  for (const m of info.messages) console.log(`  [${kernel.name}] ${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`);
  if (!ok) {
    const lines = kernel.code.split('\n');
    for (const m of info.messages.filter((x) => x.type === 'error')) {
      for (let l = Math.max(1, m.lineNum - 2); l <= Math.min(lines.length, m.lineNum + 2); l++) console.log(`    ${String(l).padStart(4)}| ${lines[l - 1]}`);
    }
  }
  try {
    await device.createComputePipelineAsync({ label: kernel.name, layout: 'auto', compute: { module, entryPoint: 'main', constants: { EPILOGUE: 3, HAS_BIAS: 1 } } });
  } catch (e) {
    ok = false;
    console.log(`  [${kernel.name}] pipeline: ${errText(e)}`);
  }
  for (const scope of ['internal', 'validation']) {
    const error = await device.popErrorScope();
    if (error) {
      ok = false;
      console.log(`  [${kernel.name}] ${scope} error: ${error.message}`);
    }
  }
  if (ok) compiled.add(kernel.name);
  return ok;
}
const candidatePlans: VisionLinearMmaPlan[] = [];
if (plan) {
  for (const t of VISION_LINEAR_MMA_CANDIDATES) {
    const p = visionLinearMmaPlan(caps, device.limits, t);
    if (p) candidatePlans.push(p);
    else log(`candidate ${JSON.stringify(t)} does not fit this device`);
  }
  const results: Record<string, boolean> = {};
  for (const storage of storages) {
    for (const p of candidatePlans) {
      const name = `${storage}/${visionLinearMmaName(p)}`;
      try {
        results[name] = await compileCheck(storage, p);
      } catch (e) {
        results[name] = false;
        console.log(`  [${name}] ${errText(e)}`);
      }
      log(`compile ${name}: ${results[name] ? 'OK' : 'FAILED'}`);
    }
  }
  report.compile = results;
  save();
}
const usable = (storage: VisionStorage, p: VisionLinearMmaPlan): boolean => compiled.has(visionLinearMmaKernel(storage, p).name);
/** The plan checked and timed as 'mma': the engine's, or (if that failed to compile) the first candidate that compiled. */
const mainPlan = (storage: VisionStorage): VisionLinearMmaPlan | null => [plan, ...candidatePlans].find((q): q is VisionLinearMmaPlan => q !== null && usable(storage, q)) ?? null;
const others = (storage: VisionStorage): VisionLinearMmaPlan[] => {
  const main = mainPlan(storage);
  return candidatePlans.filter((q) => usable(storage, q) && (!main || visionLinearMmaName(q) !== visionLinearMmaName(main)));
};

// 3. Correctness against the plain-TS reference.
interface CheckCase {
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly epilogue: VisionLinearEpilogue;
  readonly bias?: boolean;
  readonly scale?: number;
}
const checkCases: CheckCase[] = [
  { rows: 37, inDim: 44, outDim: 52, epilogue: 'none' },
  { rows: 37, inDim: 44, outDim: 52, epilogue: 'none', bias: false },
  { rows: 1, inDim: 4, outDim: 4, epilogue: 'residual' },
  { rows: 70, inDim: 36, outDim: 132, epilogue: 'quick-gelu', scale: 3 },
  { rows: 67, inDim: 100, outDim: 68, epilogue: 'gelu', scale: 3 },
  ...(smallChecks ? [] : ([
  { rows: 129, inDim: 1176, outDim: 1280, epilogue: 'none' },
  { rows: 200, inDim: 1280, outDim: 1000, epilogue: 'quick-gelu' },
  { rows: 131, inDim: 5120, outDim: 1280, epilogue: 'residual' },
  { rows: 260, inDim: 1280, outDim: 3840, epilogue: 'none' },
  ] as CheckCase[])),
];
const REL_L2_BOUND = 2e-3;
const maxAbsBound = (want: Float64Array): number => 2 ** -8 * Math.max(1, want.reduce((m, v) => Math.max(m, Math.abs(v)), 0));

const references = new Map<string, Float64Array>();
interface Outcome {
  maxAbs: number;
  relL2: number;
}
async function runCase(c: CheckCase, storage: VisionStorage, p: VisionLinearMmaPlan | null): Promise<{ mma: Outcome | string; current: Outcome; pass: boolean; bound: number }> {
  const shape = { rows: c.rows, inDim: c.inDim, outDim: c.outDim };
  const s = c.scale ?? 1;
  // Weights ~ U(-1/√in, 1/√in)·√3 keep outputs O(1) whatever in_dim.
  const ws = Math.sqrt(3 / c.inDim);
  const x = randomFloats(c.rows * c.inDim, 11).map((v) => v * s);
  const w = randomFloats(c.outDim * c.inDim, 12).map((v) => v * ws);
  const bias = c.bias === false ? undefined : randomFloats(c.outDim, 13);
  const residual = randomFloats(c.rows * c.outDim, 14);
  const data = { x: toStorage(x, storage), w: toStorage(w, storage), bias: bias ? toStorage(bias, storage) : undefined, residual: toStorage(residual, storage) };
  // The same case and storage always make the same inputs: their reference is computed once.
  const key = `${storage} ${JSON.stringify(c)}`;
  const want = references.get(key) ?? visionLinearReference(x, w, bias, residual, shape, c.epilogue);
  references.set(key, want);
  const bound = maxAbsBound(want);
  const outcome = (got: Float32Array): Outcome => {
    const st = compareArrays(got, want);
    return { maxAbs: st.maxAbs, relL2: Math.sqrt(st.nmse) };
  };
  const run = async (mma: boolean): Promise<Float32Array> => {
    const buffers = { x: uploadBuffer(device, 'x', data.x), weight: uploadBuffer(device, 'w', data.w), ...(data.bias ? { bias: uploadBuffer(device, 'bias', data.bias) } : {}), y: uploadBuffer(device, 'y', data.residual) };
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    let dispatch: KernelDispatch | null;
    try {
      dispatch = mma && p ? encodeVisionLinearMma(kernels, pass, buffers, shape, { plan: p, epilogue: c.epilogue, storage }) : encodeVisionLinear(kernels, pass, buffers, shape, { epilogue: c.epilogue, storage });
    } finally {
      pass.end();
    }
    device.queue.submit([encoder.finish()]);
    dispatch?.destroy();
    const got = fromStorage(await readBuffer(device, buffers.y, c.rows * c.outDim * storageElementBytes(storage)), storage);
    const error = await device.popErrorScope();
    for (const b of Object.values(buffers)) b.destroy();
    if (error) throw new Error(`GPU validation error: ${error.message}`);
    return got;
  };
  const current = outcome(await run(false));
  let mma: Outcome | string = 'no plan';
  if (p) {
    try {
      mma = outcome(await run(true));
    } catch (e) {
      mma = errText(e);
    }
  }
  const pass = typeof mma !== 'string' && mma.relL2 <= REL_L2_BOUND && mma.maxAbs <= bound;
  return { mma, current, pass, bound };
}
const checks: unknown[] = [];
let allPass = true;
for (const storage of storages) {
  const p = mainPlan(storage);
  if (plan && p !== plan) log(`${storage}: the engine's plan did not compile; checking and timing ${p ? visionLinearMmaName(p) : 'nothing'} as 'mma'`);
  for (const c of checkCases) {
    const label = `${storage} ${c.rows}x${c.inDim}->${c.outDim} ${c.epilogue}${c.bias === false ? ' no-bias' : ''}`;
    try {
      const r = await runCase(c, storage, p);
      allPass &&= r.pass;
      const m = typeof r.mma === 'string' ? r.mma : `maxAbs ${r.mma.maxAbs.toExponential(2)} relL2 ${r.mma.relL2.toExponential(2)}`;
      log(`check ${label}: ${r.pass ? 'PASS' : 'FAIL'} mma ${m} (bound ${r.bound.toExponential(2)}, ${REL_L2_BOUND}); current maxAbs ${r.current.maxAbs.toExponential(2)} relL2 ${r.current.relL2.toExponential(2)}`);
      checks.push({ storage, ...c, ...r });
    } catch (e) {
      allPass = false;
      log(`check ${label}: ERROR ${errText(e)}`);
      checks.push({ storage, ...c, error: errText(e) });
    }
  }
  // The candidates on one edge shape (each compiled variant is checked before it is timed).
  if (p) {
    for (const cp of others(storage)) {
      const c: CheckCase = smallChecks ? { rows: 37, inDim: 44, outDim: 52, epilogue: 'residual' } : { rows: 259, inDim: 1176, outDim: 1000, epilogue: 'residual' };
      try {
        const r = await runCase(c, storage, cp);
        allPass &&= r.pass;
        const m = typeof r.mma === 'string' ? r.mma : `maxAbs ${r.mma.maxAbs.toExponential(2)} relL2 ${r.mma.relL2.toExponential(2)}`;
        log(`check ${storage} ${visionLinearMmaName(cp)} 259x1176->1000 residual: ${r.pass ? 'PASS' : 'FAIL'} ${m}`);
        checks.push({ storage, plan: visionLinearMmaName(cp), ...c, ...r });
      } catch (e) {
        allPass = false;
        log(`check ${storage} ${visionLinearMmaName(cp)}: ERROR ${errText(e)}`);
      }
    }
  }
}
report.checks = checks;
report.allPass = allPass;
log(`correctness: ${allPass ? 'ALL PASS' : 'SOME FAILED'}`);
save();

// 4. Peak of the matrix units: a register-resident loop, 4 accumulators per subgroup.
async function peak(config: SubgroupMatrixConfig, subgroupSize: number): Promise<number> {
  const { M, N, K } = config;
  const iters = 1024;
  const groups = 8448;
  const code = `${VISION_LINEAR_MMA_DIRECTIVES}
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(${subgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>) {
  let l0 = subgroupMatrixLoad<subgroup_matrix_left<f16, ${K}, ${M}>, row_major>(&a, 0u, ${K}u);
  let l1 = subgroupMatrixLoad<subgroup_matrix_left<f16, ${K}, ${M}>, row_major>(&a, ${M * K}u, ${K}u);
  let r0 = subgroupMatrixLoad<subgroup_matrix_right<f16, ${N}, ${K}>, row_major>(&a, ${2 * M * K}u, ${N}u);
  let r1 = subgroupMatrixLoad<subgroup_matrix_right<f16, ${N}, ${K}>, row_major>(&a, ${2 * M * K + K * N}u, ${N}u);
  var c0: subgroup_matrix_result<f32, ${N}, ${M}>;
  var c1: subgroup_matrix_result<f32, ${N}, ${M}>;
  var c2: subgroup_matrix_result<f32, ${N}, ${M}>;
  var c3: subgroup_matrix_result<f32, ${N}, ${M}>;
  for (var i = 0u; i < ${iters}u; i++) {
    c0 = subgroupMatrixMultiplyAccumulate(l0, r0, c0);
    c1 = subgroupMatrixMultiplyAccumulate(l0, r1, c1);
    c2 = subgroupMatrixMultiplyAccumulate(l1, r0, c2);
    c3 = subgroupMatrixMultiplyAccumulate(l1, r1, c3);
  }
  let base = (wid.x % 16u) * ${4 * M * N}u;
  subgroupMatrixStore<row_major>(&o, base, c0, ${N}u);
  subgroupMatrixStore<row_major>(&o, base + ${M * N}u, c1, ${N}u);
  subgroupMatrixStore<row_major>(&o, base + ${2 * M * N}u, c2, ${N}u);
  subgroupMatrixStore<row_major>(&o, base + ${3 * M * N}u, c3, ${N}u);
}`;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: 'mma-peak', code });
  for (const m of (await module.getCompilationInfo()).messages) console.log(`  [mma-peak] ${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`);
  const pipeline = await device.createComputePipelineAsync({ label: 'mma-peak', layout: 'auto', compute: { module, entryPoint: 'main' } });
  const a = uploadBuffer(device, 'peak-a', toStorage(randomFloats(2 * M * K + 2 * K * N + 16, 5).map((v) => v / 64), 'f16'));
  const o = device.createBuffer({ size: 16 * 4 * M * N * 4, usage: GPUBufferUsage.STORAGE });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: o } }] });
  const once = async (): Promise<number> => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups);
    pass.end();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  await once();
  const ms = median([await once(), await once(), await once()]);
  const error = await device.popErrorScope();
  a.destroy();
  o.destroy();
  if (error) throw new Error(error.message);
  return (groups * iters * 4 * 2 * M * N * K) / (ms * 1e-3) / 1e12;
}
let peakTflops = NaN;
if (plan) {
  try {
    peakTflops = await peak(plan.config, plan.subgroupSize);
    log(`MMA peak (f16->f32 ${plan.config.M}x${plan.config.N}x${plan.config.K}, register-resident): ${peakTflops.toFixed(0)} TFLOP/s`);
  } catch (e) {
    log(`MMA peak: ERROR ${errText(e)}`);
  }
}
report.peakTflops = peakTflops;
save();

// 5. Timing at the Qwen2-VL vision shapes (embed 1280, qkv 3840, mlp 5120, patch 3·2·14·14 = 1176, merger 5120 → 4096).
interface TimeShape {
  readonly name: string;
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly epilogue: VisionLinearEpilogue;
}
function towerShapes(n: number): TimeShape[] {
  return [
    { name: 'patch', rows: n, inDim: 1176, outDim: 1280, epilogue: 'none' },
    { name: 'qkv', rows: n, inDim: 1280, outDim: 3840, epilogue: 'none' },
    { name: 'proj', rows: n, inDim: 1280, outDim: 1280, epilogue: 'residual' },
    { name: 'fc1', rows: n, inDim: 1280, outDim: 5120, epilogue: 'quick-gelu' },
    { name: 'fc2', rows: n, inDim: 5120, outDim: 1280, epilogue: 'residual' },
    { name: 'merger.fc1', rows: n / 4, inDim: 5120, outDim: 5120, epilogue: 'gelu' },
    { name: 'merger.fc2', rows: n / 4, inDim: 5120, outDim: 4096, epilogue: 'none' },
  ];
}
const pool = randomFloats(1 << 20, 21);
const chunks = new Map<string, Float32Array | Uint16Array>();
function filledBuffer(label: string, elements: number, storage: VisionStorage, scale: number): GPUBuffer {
  const bytes = storageElementBytes(storage);
  const buffer = device.createBuffer({ label, size: Math.ceil((elements * bytes) / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  const key = `${storage}:${scale}`;
  const chunk = chunks.get(key) ?? toStorage(pool.map((v) => v * scale), storage);
  chunks.set(key, chunk);
  const chunkBytes = chunk.byteLength;
  for (let at = 0; at < elements * bytes; at += chunkBytes) {
    const size = Math.min(chunkBytes, Math.floor((elements * bytes - at) / 4) * 4);
    if (size > 0) device.queue.writeBuffer(buffer, at, chunk.buffer as ArrayBuffer, chunk.byteOffset, size);
  }
  return buffer;
}
/** ms per dispatch: `reps` dispatches in one pass, median of 3 after a warm-up. */
async function timeDispatches(record: (pass: GPUComputePassEncoder) => KernelDispatch | null, reps: number): Promise<number> {
  const once = async (): Promise<number> => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    const ds: (KernelDispatch | null)[] = [];
    for (let r = 0; r < reps; r++) ds.push(record(pass));
    pass.end();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    const ms = performance.now() - start;
    for (const d of ds) d?.destroy();
    return ms / reps;
  };
  await once();
  return median([await once(), await once(), await once()]);
}
const timings: unknown[] = [];
const sizes = sizesArg ? sizesArg.split(',').map(Number) : quick ? [1024] : [1024, 3996, 12288];
const table: string[] = [];
for (const storage of storages) {
  for (const n of sizes) {
    for (const s of towerShapes(n)) {
      const shape = { rows: s.rows, inDim: s.inDim, outDim: s.outDim };
      const flop = 2 * s.rows * s.inDim * s.outDim;
      const reps = Math.max(Math.min(2, maxReps), Math.min(maxReps, Math.round(2e12 / flop)));
      const buffers = { x: filledBuffer('x', s.rows * s.inDim, storage, 1), weight: filledBuffer('w', s.outDim * s.inDim, storage, 0.03), bias: filledBuffer('b', s.outDim, storage, 0.1), y: filledBuffer('y', s.rows * s.outDim, storage, 0.1) };
      const row: Record<string, unknown> = { storage, n, ...s, gflop: flop / 1e9 };
      const variants: [string, VisionLinearMmaPlan | null][] = [['current', null]];
      const main = mainPlan(storage);
      if (main) variants.push(['mma', main]);
      if (storage === 'f16' && n === sizes[sizes.length - 1]) for (const cp of others(storage)) variants.push([`mma:${visionLinearMmaName(cp)}`, cp]);
      for (const [name, p] of variants) {
        try {
          device.pushErrorScope('validation');
          const ms = await timeDispatches(
            (pass) => (p ? encodeVisionLinearMma(kernels, pass, buffers, shape, { plan: p, epilogue: s.epilogue, storage }) : encodeVisionLinear(kernels, pass, buffers, shape, { epilogue: s.epilogue, storage })),
            reps,
          );
          const error = await device.popErrorScope();
          if (error) throw new Error(`GPU validation error: ${error.message}`);
          const tflops = flop / (ms * 1e-3) / 1e12;
          row[name] = { ms, tflops, pctPeak: (100 * tflops) / peakTflops };
        } catch (e) {
          row[name] = { error: errText(e) };
          log(`time ${storage} ${n} ${s.name} ${name}: ERROR ${errText(e)}`);
        }
      }
      for (const b of Object.values(buffers)) b.destroy();
      timings.push(row);
      const cell = (k: string): string => {
        const r = row[k] as { ms?: number; tflops?: number; pctPeak?: number } | undefined;
        return r?.ms === undefined ? '-' : `${r.ms.toFixed(3)} ms ${r.tflops?.toFixed(0)} TF (${r.pctPeak?.toFixed(0)}%)`;
      };
      const line = `${storage} n=${String(n).padStart(5)} ${s.name.padEnd(10)} current ${cell('current').padEnd(26)} mma ${cell('mma')}`;
      table.push(line);
      log(line);
      for (const k of Object.keys(row).filter((k) => k.startsWith('mma:'))) log(`    ${k}: ${cell(k)}`);
    }
    report.timings = timings;
    save();
  }
}
report.uncapturedErrors = uncaptured;
report.seconds = (performance.now() - t0) / 1000;
save();
console.log('\n=== summary ===');
const mainNames = Object.fromEntries(storages.map((st) => [st, mainPlan(st) ? visionLinearMmaName(mainPlan(st)!) : 'none']));
report.mainPlans = mainNames;
save();
console.log(`engine plan ${plan ? visionLinearMmaName(plan) : 'none'}; checked and timed as 'mma': ${JSON.stringify(mainNames)}; compile ${JSON.stringify(report.compile ?? {})}`);
console.log(`correctness ${allPass ? 'ALL PASS' : 'SOME FAILED'}; MMA peak ${peakTflops.toFixed(0)} TFLOP/s; current tiling ${chooseVisionLinearTiling({ rows: 1024, inDim: 1280, outDim: 1280 }, device.limits).rowsPerThread}x… ; uncaptured errors ${uncaptured.length}`);
for (const line of table) console.log(line);
console.log(`done in ${report.seconds} s${out ? `; JSON ${out}` : ''}`);
ctx.dispose();
process.exit(0);
