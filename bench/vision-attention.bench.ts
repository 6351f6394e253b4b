/**
 * Benchmark of the vision attention kernel (shaders/vision/attention/) on the WebGPU adapter Node finds:
 * Dawn + the system Vulkan driver, else SwiftShader. On the GPU machine (../shared/gpu/README.md) run a bundled
 * copy (vite build --ssr) with the staged Dawn package linked as node_modules/webgpu next to it.
 *
 *   npx vite-node bench/vision-attention.bench.ts -- [--cases 1024x1,4096x3] [--heads 16] [--head-dim 80] [--reps 5]
 *     [--tilings 12x20,8x40] [--storage f32|f16] [--out file.json]
 *
 * A case `PxB` is B images of P/B patches each (one square-ish grid per image). `--tilings GxK,…` times these
 * row-group × key tilings instead of the chosen one (skipping those over the device's workgroup memory). Prints one line per case with the
 * median wall time (submit → onSubmittedWorkDone), the GPU time from timestamp queries where the adapter has them,
 * and the attention FLOP rate (4 · len² · headDim · heads per image: QKᵀ and PV, 2 FLOP per multiply-add).
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../src/gpu/gpu-buffers';
import { GpuContext } from '../src/gpu/gpu-context';
import { KernelCache } from '../src/gpu/kernel';
import { installNodeWebGpu } from '../src/gpu/node-webgpu';
import { encodeVisionAttention, type VisionAttentionStorage } from '../shaders/vision/attention/vision-attention';
import { chooseVisionAttentionTiling, type VisionAttentionTiling, visionAttentionStorageBytes } from '../shaders/vision/attention/vision-attention-tiling';
import { type PatchGrid, visionCuSeqlens, visionRotaryTables } from '../src/processor/vision-rotary';
import { randomFloats } from '../src/testing/compare';

interface BenchArgs {
  readonly cases: readonly { readonly patches: number; readonly images: number }[];
  readonly heads: number;
  readonly headDim: number;
  readonly reps: number;
  /** Row groups × keys to time; empty: the chosen tiling. */
  readonly tilings: readonly (readonly [number, number])[];
  readonly storage: VisionAttentionStorage;
  readonly out?: string;
}

function parseArgs(argv: readonly string[]): BenchArgs {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const cases = (get('cases') ?? '1024x1').split(',').map((c) => {
    const [patches, images] = c.split('x').map(Number);
    if (!patches || !images || patches % (4 * images) !== 0) throw new RangeError(`--cases: "${c}" is not PxB with P a multiple of 4·B`);
    return { patches, images };
  });
  const out = get('out');
  const tilings = (get('tilings') ?? '')
    .split(',')
    .filter(Boolean)
    .map((t) => t.split('x').map(Number) as [number, number]);
  const storage = get('storage') === 'f16' ? 'f16' : 'f32';
  return { storage, tilings, cases, heads: Number(get('heads') ?? 16), headDim: Number(get('head-dim') ?? 80), reps: Number(get('reps') ?? 5), ...(out ? { out } : {}) };
}

/** A grid of `patches` (a multiple of 4) as close to square as even sides allow. */
function squareGrid(patches: number): PatchGrid {
  const windows = patches / 4;
  let bh = Math.floor(Math.sqrt(windows));
  while (windows % bh !== 0) bh--;
  return { t: 1, h: 2 * bh, w: (2 * windows) / bh };
}

/** The values as stored: f32 as is; f16 as bits (truncated, subnormals flushed: timing input only). */
function storageValues(values: Float32Array, storage: VisionAttentionStorage): Float32Array | Uint16Array {
  if (storage === 'f32') return values;
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Uint16Array.from(words, (w) => {
    const exponent = ((w >>> 23) & 0xff) - 112;
    return exponent <= 0 ? 0 : ((w >>> 16) & 0x8000) | (exponent << 10) | ((w >>> 13) & 0x3ff);
  });
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const ctx = await GpuContext.create({ gpu: await installNodeWebGpu() });
  const { device, capabilities } = ctx;
  const chosen = chooseVisionAttentionTiling(args.headDim, device.limits);
  const headVec4s = args.headDim / 4;
  const tilings: VisionAttentionTiling[] = args.tilings.length
    ? args.tilings
        .map(([rowGroups, keys]) => ({
          rowGroups,
          rows: 4 * rowGroups,
          keys,
          headVec4s,
          workgroupSize: rowGroups * headVec4s,
          workgroupStorageBytes: visionAttentionStorageBytes(rowGroups, keys, headVec4s),
        }))
        .filter((t) => t.workgroupStorageBytes <= device.limits.maxComputeWorkgroupStorageSize && t.workgroupSize <= device.limits.maxComputeInvocationsPerWorkgroup)
    : [chosen];
  const kernels = new KernelCache(device);
  const rows: Record<string, number | string>[] = [];
  console.log(`adapter: ${capabilities.vendor} ${capabilities.architecture} (${capabilities.description}); chosen tiling ${JSON.stringify(chosen)}`);
  for (const tiling of tilings) for (const c of args.cases) {
    const grids = Array.from({ length: c.images }, () => squareGrid(c.patches / c.images));
    const tables = visionRotaryTables(grids, args.headDim);
    const width = args.heads * args.headDim;
    const shape = { heads: args.heads, headDim: args.headDim, cuSeqlens: visionCuSeqlens(grids) };
    const buffers = {
      qkv: uploadBuffer(device, 'bench.qkv', storageValues(randomFloats(tables.patches * 3 * width, 1), args.storage)),
      cos: uploadBuffer(device, 'bench.cos', tables.cos),
      sin: uploadBuffer(device, 'bench.sin', tables.sin),
      cuSeqlens: uploadBuffer(device, 'bench.cu_seqlens', new Uint32Array(shape.cuSeqlens)),
      out: createStorageBuffer(device, 'bench.out', tables.patches * width * (args.storage === 'f16' ? 2 : 4)),
    };
    const querySet = capabilities.timestampQuery ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
    const resolve = device.createBuffer({ label: 'bench.timestamps', size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const wallMs: number[] = [];
    const gpuMs: number[] = [];
    for (let rep = 0; rep <= args.reps; rep++) {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
      const params = encodeVisionAttention(kernels, pass, buffers, shape, { tiling, storage: args.storage });
      pass.end();
      if (querySet) encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      const t0 = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      const t1 = performance.now();
      params.destroy();
      if (rep === 0) continue; // the first run includes compiling the pipeline
      wallMs.push(t1 - t0);
      if (querySet) {
        const ns = new BigInt64Array(await readBuffer(device, resolve, 16));
        gpuMs.push(Number((ns[1] ?? 0n) - (ns[0] ?? 0n)) / 1e6);
      }
    }
    const sample = await readBuffer(device, buffers.out, Math.min(4096, tables.patches * width) * (args.storage === 'f16' ? 2 : 4));
    const finite = args.storage === 'f16' ? new Uint16Array(sample).every((h) => (h & 0x7c00) !== 0x7c00) : new Float32Array(sample).every(Number.isFinite);
    if (!finite) throw new Error('vision-attention bench: output is not finite');
    const flop = grids.reduce((n, g) => n + 4 * (g.h * g.w) ** 2 * args.headDim * args.heads, 0);
    const best = gpuMs.length ? median(gpuMs) : median(wallMs);
    const row = {
      case: `${c.patches}x${c.images}`,
      tiling: `${tiling.rowGroups}x${tiling.keys}`,
      storage: args.storage,
      grid: `${grids[0]?.h}x${grids[0]?.w}`,
      heads: args.heads,
      headDim: args.headDim,
      wallMs: Number(median(wallMs).toFixed(3)),
      gpuMs: gpuMs.length ? Number(median(gpuMs).toFixed(3)) : 'n/a',
      gflops: Number((flop / (best * 1e-3) / 1e9).toFixed(1)),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    for (const b of [...Object.values(buffers), resolve]) b.destroy();
    querySet?.destroy();
  }
  if (args.out) {
    const commit = safe(() => execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    const record = { bench: 'vision-attention', commit, adapter: capabilities, runtime: `node ${process.version} + Dawn`, chosen, rows };
    writeFileSync(args.out, JSON.stringify(record, null, 2));
  }
  ctx.dispose();
}

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return 'unknown';
  }
}

await main();
