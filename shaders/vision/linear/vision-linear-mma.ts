/**
 * The vision tower's dense layers on subgroup matrices (WGSL generated per plan, visionLinearMmaBody): the contract of vision-linear.ts
 * (y = epilogue(x · Wᵀ + b), f32 or f16 storage), with f16 × f16 → f32 products on the adapter's tensor cores.
 * It needs `shader-f16` and `chromium-experimental-subgroup-matrix` with an f16 → f32 configuration, and one
 * subgroup size; visionLinearMmaPlan says whether this device has them and returns null where it does not (the
 * caller keeps vision-linear.ts). With f32 storage the operands are rounded to f16 when staged (the sums stay f32).
 */
import type { GpuCapabilities, SubgroupMatrixConfig } from '../../../src/gpu/gpu-context';
import { defineKernel, type KernelCache, type KernelDescriptor, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import { checkVisionLinearCall, VISION_ACTIVATION_WGSL, type VisionLinearBuffers, type VisionLinearEpilogue, type VisionLinearLimits, type VisionLinearShape, type VisionStorage } from './vision-linear';
import { type MatrixSpelling, SUBGROUP_MATRIX_SPELLINGS } from '../attention/vision-attention-mma-wgsl';

/** Register and workgroup blocking of the kernel (in result matrices of the chosen configuration). */
export interface VisionLinearMmaTiling {
  /** Subgroups of a workgroup along rows and columns of y. */
  readonly subgroupsM: number;
  readonly subgroupsN: number;
  /** Result matrices each subgroup accumulates, along rows and columns. */
  readonly tilesM: number;
  readonly tilesN: number;
  /** k per workgroup-memory tile (a multiple of the configuration's K and of 8). */
  readonly tileK: number;
  /**
   * Result matrices a subgroup stages in workgroup memory per epilogue round (divides tilesM · tilesN): the rounds
   * cost two workgroup barriers each, the staging area grows with this.
   */
  readonly epilogueMatrices: number;
  /**
   * Two workgroup-memory copies of the x and w tiles, alternating: the next tile is staged into one while the other
   * is multiplied, one barrier per k tile instead of two (twice the tiles' memory).
   */
  readonly doubleBuffered?: boolean;
}

/** What the kernel needs from the device: the configuration, the subgroup size and a tiling. */
export interface VisionLinearMmaPlan {
  readonly config: SubgroupMatrixConfig;
  readonly subgroupSize: number;
  readonly tiling: VisionLinearMmaTiling;
}

/** The capabilities the plan reads (GpuCapabilities satisfies this). */
export type VisionLinearMmaCapabilities = Pick<GpuCapabilities, 'shaderF16' | 'subgroupMinSize' | 'subgroupMaxSize' | 'subgroupMatrixConfigs'>;

/**
 * 2 × 4 subgroups of 4 × 2 result matrices (128 × 128 outputs per workgroup at 16 × 16 matrices: each k tile is
 * reused by 128 rows and 128 columns), k tiles of 32, two matrices per epilogue round (what fits 48 KiB).
 */
export const VISION_LINEAR_MMA_DEFAULT: VisionLinearMmaTiling = { subgroupsM: 2, subgroupsN: 4, tilesM: 4, tilesN: 2, tileK: 32, epilogueMatrices: 2 };

/** The tilings the bench compares (the default first); the plan takes the first that fits the device. */
export const VISION_LINEAR_MMA_CANDIDATES: readonly VisionLinearMmaTiling[] = [
  VISION_LINEAR_MMA_DEFAULT,
  { subgroupsM: 4, subgroupsN: 2, tilesM: 2, tilesN: 4, tileK: 32, epilogueMatrices: 2 },
  // 4 subgroups of 64 × 64 (16 accumulators each): fewer loads per product, more registers.
  { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 4, tileK: 32, epilogueMatrices: 4 },
  // 16 subgroups of 32 × 32.
  { subgroupsM: 4, subgroupsN: 4, tilesM: 2, tilesN: 2, tileK: 32, epilogueMatrices: 1 },
  // Longer k tiles: half the barriers per product.
  { subgroupsM: 2, subgroupsN: 4, tilesM: 4, tilesN: 2, tileK: 64, epilogueMatrices: 1 },
  { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 4, tileK: 64, epilogueMatrices: 1 },
  // Double-buffered: one barrier per k tile.
  { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 4, tileK: 32, epilogueMatrices: 1, doubleBuffered: true },
  { subgroupsM: 2, subgroupsN: 4, tilesM: 4, tilesN: 2, tileK: 16, epilogueMatrices: 2, doubleBuffered: true },
  { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 2, tileK: 32, epilogueMatrices: 2, doubleBuffered: true },
  // The previous default's block (128 × 64).
  { subgroupsM: 2, subgroupsN: 2, tilesM: 4, tilesN: 2, tileK: 32, epilogueMatrices: 2 },
  // What fits WebGPU's default 16 KiB of workgroup memory.
  { subgroupsM: 2, subgroupsN: 2, tilesM: 2, tilesN: 2, tileK: 32, epilogueMatrices: 1 },
  // One subgroup per workgroup: workgroup-uniform offsets (the fallback if the uniformity diagnostic cannot be
  // turned off on some build).
  { subgroupsM: 1, subgroupsN: 1, tilesM: 4, tilesN: 4, tileK: 32, epilogueMatrices: 4 },
];

/**
 * The configuration the kernel uses: f16 operands with an f32 result, the most products per multiply
 * (M · N · K), then the widest K; null when the adapter lists none.
 */
export function chooseVisionLinearMmaConfig(configs: readonly SubgroupMatrixConfig[]): SubgroupMatrixConfig | null {
  // The epilogue reads result rows as vec4s: N must be a multiple of 4.
  const usable = configs.filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && [c.M, c.N, c.K].every((d) => Number.isInteger(d) && d > 0) && c.N % 4 === 0);
  let best: SubgroupMatrixConfig | null = null;
  for (const c of usable) {
    if (!best || c.M * c.N * c.K > best.M * best.N * best.K || (c.M * c.N * c.K === best.M * best.N * best.K && c.K > best.K)) best = c;
  }
  return best;
}

/** Output block of one workgroup. */
export function visionLinearMmaBlock(config: SubgroupMatrixConfig, t: VisionLinearMmaTiling): { rows: number; cols: number } {
  return { rows: t.subgroupsM * t.tilesM * config.M, cols: t.subgroupsN * t.tilesN * config.N };
}

/** Invocations of one workgroup. */
export function visionLinearMmaThreads(subgroupSize: number, t: VisionLinearMmaTiling): number {
  return t.subgroupsM * t.subgroupsN * subgroupSize;
}

/** Workgroup memory the kernel declares, in bytes (tile_a, tile_b, tile_c; see the kernel's comments). */
export function visionLinearMmaStorageBytes(config: SubgroupMatrixConfig, t: VisionLinearMmaTiling): number {
  const { rows, cols } = visionLinearMmaBlock(config, t);
  const stride = t.tileK + 8;
  const halves = (t.doubleBuffered ? 2 : 1) * (rows * stride + t.tileK + cols * stride + t.tileK);
  const cStride = t.epilogueMatrices * config.N + 4;
  const c = t.subgroupsM * t.subgroupsN * config.M * cStride + cStride;
  return Math.ceil((2 * halves) / 4) * 4 + 4 * c;
}

/** Whether `t` is well formed for `config` and `subgroupSize` and fits `limits`. */
export function visionLinearMmaTilingFits(config: SubgroupMatrixConfig, subgroupSize: number, t: VisionLinearMmaTiling, limits: VisionLinearLimits): boolean {
  const whole = [t.subgroupsM, t.subgroupsN, t.tilesM, t.tilesN, t.tileK, t.epilogueMatrices].every((v) => Number.isInteger(v) && v >= 1);
  if (!whole || !(Number.isInteger(subgroupSize) && subgroupSize > 0)) return false;
  const threads = visionLinearMmaThreads(subgroupSize, t);
  const { rows, cols } = visionLinearMmaBlock(config, t);
  const kq = t.tileK / 4;
  return (
    t.tileK % config.K === 0 &&
    t.tileK % 8 === 0 &&
    config.N % 4 === 0 &&
    (t.tilesM * t.tilesN) % t.epilogueMatrices === 0 &&
    // Each invocation loads one vec4 column of k (tid mod KQ) of every (threads / KQ)-th row of each tile.
    threads % kq === 0 &&
    rows % (threads / kq) === 0 &&
    cols % (threads / kq) === 0 &&
    threads <= limits.maxComputeInvocationsPerWorkgroup &&
    threads <= limits.maxComputeWorkgroupSizeX &&
    visionLinearMmaStorageBytes(config, t) <= limits.maxComputeWorkgroupStorageSize
  );
}

/**
 * The plan for this device, or null when it lacks what the kernel needs: `shader-f16`, an f16 → f32
 * subgroup-matrix configuration, a single known subgroup size (the kernel numbers subgroups by invocation index),
 * or a tiling within its limits. `tiling` forces one (the bench); otherwise VISION_LINEAR_MMA_CANDIDATES' first
 * that fits.
 */
export function visionLinearMmaPlan(caps: VisionLinearMmaCapabilities, limits: VisionLinearLimits, tiling?: VisionLinearMmaTiling): VisionLinearMmaPlan | null {
  if (!caps.shaderF16) return null;
  const config = chooseVisionLinearMmaConfig(caps.subgroupMatrixConfigs);
  if (!config) return null;
  const subgroupSize = caps.subgroupMaxSize;
  if (!(subgroupSize > 0 && caps.subgroupMinSize === subgroupSize)) return null;
  const candidates = tiling ? [tiling] : VISION_LINEAR_MMA_CANDIDATES;
  const fits = candidates.find((t) => visionLinearMmaTilingFits(config, subgroupSize, t, limits));
  return fits ? { config, subgroupSize, tiling: fits } : null;
}

/** Workgroup counts (x over columns, y over rows). */
export function visionLinearMmaWorkgroups(shape: VisionLinearShape, plan: VisionLinearMmaPlan): [number, number] {
  const { rows, cols } = visionLinearMmaBlock(plan.config, plan.tiling);
  return [Math.ceil(shape.outDim / cols), Math.ceil(shape.rows / rows)];
}

/**
 * `m16n16k16-sg32-2x4-4x2-k32-e2` (configuration, subgroup size, subgroups, matrices per subgroup, k tile, epilogue
 * round; `-db` when double-buffered).
 */
export function visionLinearMmaName(plan: VisionLinearMmaPlan): string {
  const { config: c, tiling: t } = plan;
  return `m${c.M}n${c.N}k${c.K}-sg${plan.subgroupSize}-${t.subgroupsM}x${t.subgroupsN}-${t.tilesM}x${t.tilesN}-k${t.tileK}-e${t.epilogueMatrices}${t.doubleBuffered ? '-db' : ''}`;
}

/** Storage preludes: the binding element, its f16 operands, and its f32 values for bias, residual and y. */
const STORAGE_PRELUDE: Readonly<Record<VisionStorage, string>> = {
  f16: `alias Vec4Storage = vec4<f16>;
fn to_half4(v: Vec4Storage) -> vec4<f16> { return v; }
fn unpack4(v: Vec4Storage) -> vec4<f32> { return vec4<f32>(v); }
fn pack4(v: vec4<f32>) -> Vec4Storage { return vec4<f16>(v); }
`,
  f32: `alias Vec4Storage = vec4<f32>;
fn to_half4(v: Vec4Storage) -> vec4<f16> { return vec4<f16>(v); }
fn unpack4(v: Vec4Storage) -> vec4<f32> { return v; }
fn pack4(v: vec4<f32>) -> Vec4Storage { return v; }
`,
};

/**
 * The directives of the peak probe in bench/vision-linear-mma.bench.ts. The uniformity diagnostic is off because the
 * load and store offsets depend on the subgroup's index in the workgroup: uniform within each subgroup (what the
 * hardware needs) but not across the workgroup, which is all Tint's analysis can prove.
 */
export const VISION_LINEAR_MMA_DIRECTIVES = 'enable f16;\nenable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);\n';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const each = (items: readonly number[], f: (i: number) => string): string => items.map(f).join('\n');

/**
 * The kernel body for `plan` (after the spelling's header and a storage prelude): y = epilogue(x · Wᵀ + b) with W
 * in Hugging Face's [out, in] layout, f16 × f16 products accumulated in f32; the contract of vision-linear.wgsl.
 *   0 params  uniform { rows, in_dim, out_dim, _ }
 *   1 x       storage read   [rows, in_dim]        (vec4s of the prelude's storage type; in_dim, out_dim multiples of 4)
 *   2 w       storage read   [out_dim, in_dim]     (nn.Linear weight)
 *   3 bias    storage read   [out_dim]             (any buffer when HAS_BIAS is false: never read)
 *   4 y       storage read_write [rows, out_dim]   (EPILOGUE 3 reads it: y += …, the residual add)
 * Epilogues (override EPILOGUE): 0 none, 1 QuickGELU, 2 exact GELU, 3 residual (vision-activation.wgsl).
 * A workgroup of SG_M × SG_N subgroups owns a BM × BN block of y; each subgroup owns TM × TN result matrices, every
 * one a separately named variable (acc_i_j), and every matrix loop is unrolled here: arrays of matrices indexed by
 * loop counters may be spilled to local memory by the driver, named values stay in registers. The workgroup walks k
 * in tiles of TK: each invocation fetches one vec4 column of k of every (THREADS / KQ)-th row of the x and w tiles
 * into registers (the next tile's while the current one is multiplied), then converts them to f16 into workgroup
 * memory, k-contiguous, rows padded by 8 halves against bank conflicts. x's rows are the left matrices (row-major);
 * w's rows are the right matrices' columns (column-major). Rows past `rows`, columns past out_dim and k past in_dim
 * are staged as zeros, so edge blocks multiply exactly and their extra outputs are never stored.
 * Epilogue: result matrices are opaque, so each subgroup stores `epilogueMatrices` of them side by side into its own
 * slice of workgroup memory, one barrier, its lanes read them back as vec4s of rows and apply bias, activation and
 * residual, one barrier (before the next round overwrites the slice).
 * Dawn bounds-checks a subgroup-matrix load or store as reaching offset + stride · (its rows, or its columns when
 * column-major), past the last row by the matrix's column offset, and clamps an access it finds out of bounds
 * (silently wrong data): every matrix array carries that slack (TK halves, one C_STRIDE of floats).
 * Every matrix builtin is reached in workgroup-uniform control flow; the offsets are uniform per subgroup only
 * (subgroup = invocation index / SG, the adapter's only subgroup size), hence the uniformity diagnostic is off.
 * Dispatch: (ceil(out_dim / BN), ceil(rows / BM)) workgroups of SG_M · SG_N · SG invocations.
 */
export function visionLinearMmaBody(plan: VisionLinearMmaPlan, spelling: MatrixSpelling = SUBGROUP_MATRIX_SPELLINGS.template): string {
  const { config: c, tiling: t, subgroupSize } = plan;
  const { M, N, K } = c;
  const { tilesM: TM, tilesN: TN, tileK: TK, epilogueMatrices: R } = t;
  const subgroups = t.subgroupsM * t.subgroupsN;
  const threads = subgroups * subgroupSize;
  const kq = TK / 4;
  const { rows: BM, cols: BN } = visionLinearMmaBlock(c, t);
  const rowsPerPass = threads / kq;
  const aLoads = BM / rowsPerPass;
  const bLoads = BN / rowsPerPass;
  const rounds = (TM * TN) / R;
  if (!Number.isInteger(rowsPerPass) || !Number.isInteger(aLoads) || !Number.isInteger(bLoads) || !Number.isInteger(rounds) || TK % K !== 0 || N % 4 !== 0) {
    throw new RangeError(`vision-linear-mma: plan ${visionLinearMmaName(plan)} is not well formed (see visionLinearMmaTilingFits)`);
  }
  const left = spelling.type('left', M, N, K);
  const right = spelling.type('right', M, N, K);
  const result = spelling.type('result', M, N, K);
  const mma = spelling.mma;
  const fetch = (indent: string, k4: string): string =>
    [
      each(range(aLoads), (i) => `${indent}ra_${i} = load_x(m0 + a_row + ${i * rowsPerPass}u, ${k4});`),
      each(range(bLoads), (j) => `${indent}rb_${j} = load_w(n0 + a_row + ${j * rowsPerPass}u, ${k4});`),
    ].join('\n');
  // Buffer suffixes: '' single-buffered, '0' and '1' double-buffered.
  const bufs = t.doubleBuffered ? ['0', '1'] : [''];
  const stage = (indent: string, b: string): string =>
    [
      each(range(aLoads), (i) => `${indent}put_a${b}((a_row + ${i * rowsPerPass}u) * A_STRIDE + a_k, ra_${i});`),
      each(range(bLoads), (j) => `${indent}put_b${b}((a_row + ${j * rowsPerPass}u) * B_STRIDE + a_k, rb_${j});`),
    ].join('\n');
  // One k step of the subgroup's matrices: TM left and TN right loads, TM · TN multiply-accumulates.
  const step = (kk: number, b: string): string =>
    [
      '    {',
      each(range(TM), (i) => `      let l_${i} = ${spelling.load('left', left, `tile_a${b}`, `a_base + ${i * M}u * A_STRIDE + ${kk}u`, 'row_major', 'A_STRIDE')};`),
      each(range(TN), (j) =>
        [
          `      let r_${j} = ${spelling.load('right', right, `tile_b${b}`, `b_base + ${j * N}u * B_STRIDE + ${kk}u`, 'col_major', 'B_STRIDE')};`,
          each(range(TM), (i) => `      acc_${i}_${j} = ${mma}(l_${i}, r_${j}, acc_${i}_${j});`),
        ].join('\n'),
      ),
      '    }',
    ].join('\n');
  const steps = (b: string): string => each(range(TK / K), (k) => step(k * K, b));
  // Single-buffered: fetch the next tile into registers, multiply, barrier, stage it, barrier.
  const singleLoop = `  for (var t = 0u; t < tiles; t++) {
    let more = t + 1u < tiles;
    if (more) {
${fetch('      ', '(t + 1u) * KQ + tid % KQ')}
    }
${steps('')}
    if (more) {
      // Everyone is done reading the tile before it is overwritten.
      workgroupBarrier();
${stage('      ', '')}
    }
    workgroupBarrier();
  }`;
  // Double-buffered, two k tiles per iteration (the buffers are named): multiply tile t from one buffer while
  // staging tile t + 1 into the other, then one barrier (which also ends every read of the other buffer's last use).
  const half = (t: string, from: string, to: string): string => `    if (${t} + 1u < tiles) {
${fetch('      ', `(${t} + 1u) * KQ + tid % KQ`)}
    }
${steps(from)}
    if (${t} + 1u < tiles) {
${stage('      ', to)}
    }
    workgroupBarrier();`;
  const doubleLoop = `  for (var t = 0u; t < tiles; t += 2u) {
${half('t', '0', '1')}
    if (t + 1u < tiles) {
${half('(t + 1u)', '1', '0').replace(/^/gm, '  ')}
    }
  }`;
  // Round r: matrices f = r·R … r·R + R − 1 (acc_i_j with f = i·TN + j) side by side in the slice.
  const round = (r: number): string =>
    [
      each(range(R), (p) => {
        const f = r * R + p;
        return `  ${spelling.store('tile_c', `slice + ${p * N}u`, `acc_${Math.floor(f / TN)}_${f % TN}`, 'C_STRIDE')};`;
      }),
      '  workgroupBarrier();',
      `  for (var item = lane; item < ${(M * R * N) / 4}u; item += SG) {`,
      `    let r = item / ${(R * N) / 4}u;`,
      `    let p = (item / ${N / 4}u) % ${R}u;`,
      `    let f = ${r * R}u + p;`,
      `    let m = m0 + sub_m + (f / ${TN}u) * ${M}u + r;`,
      `    let n4 = n4_0 + ((f % ${TN}u) * ${N}u + (item % ${N / 4}u) * 4u) / 4u;`,
      '    if (m < rows && n4 < n4s) {',
      `      let at = slice + r * C_STRIDE + p * ${N}u + (item % ${N / 4}u) * 4u;`,
      '      finish(m * n4s + n4, n4, vec4<f32>(tile_c[at], tile_c[at + 1u], tile_c[at + 2u], tile_c[at + 3u]));',
      '    }',
      '  }',
      ...(r + 1 < rounds ? ['  // The next round rewrites the slice.', '  workgroupBarrier();'] : []),
    ].join('\n');

  return `// vision-linear-mma ${visionLinearMmaName(plan)} (generated by vision-linear-mma.ts: algorithm and bindings there).

struct Params {
  rows: u32,
  in_dim: u32,
  out_dim: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<Vec4Storage>;
@group(0) @binding(2) var<storage, read> w: array<Vec4Storage>;
@group(0) @binding(3) var<storage, read> bias: array<Vec4Storage>;
@group(0) @binding(4) var<storage, read_write> y: array<Vec4Storage>;

override EPILOGUE: u32 = 0u;
override HAS_BIAS: bool = true;

const SG = ${subgroupSize}u;
const KQ = ${kq}u;
// Row strides of the staged tiles in halves (16-byte aligned, off the bank period) and of the epilogue slices in f32.
const A_STRIDE = ${TK + 8}u;
const B_STRIDE = ${TK + 8}u;
const C_STRIDE = ${R * N + 4}u;

${bufs.map((b) => `var<workgroup> tile_a${b}: array<f16, ${BM * (TK + 8) + TK}>;\nvar<workgroup> tile_b${b}: array<f16, ${BN * (TK + 8) + TK}>;`).join('\n')}
var<workgroup> tile_c: array<f32, ${subgroups * M * (R * N + 4) + R * N + 4}>;

// activate(): vision-activation.wgsl, prepended by the descriptor.

${bufs.flatMap((b) => ['a', 'b'].map((ab) => `fn put_${ab}${b}(o: u32, v: Vec4Storage) {
  let h = to_half4(v);
  tile_${ab}${b}[o] = h.x;
  tile_${ab}${b}[o + 1u] = h.y;
  tile_${ab}${b}[o + 2u] = h.z;
  tile_${ab}${b}[o + 3u] = h.w;
}
`)).join('\n')}
// x and w as vec4s, zeros outside the matrices.
fn load_x(m: u32, k4: u32) -> Vec4Storage {
  let k4s = params.in_dim / 4u;
  if (m < params.rows && k4 < k4s) {
    return x[m * k4s + k4];
  }
  return Vec4Storage();
}

fn load_w(n: u32, k4: u32) -> Vec4Storage {
  let k4s = params.in_dim / 4u;
  if (n < params.out_dim && k4 < k4s) {
    return w[n * k4s + k4];
  }
  return Vec4Storage();
}

// Bias, activation, residual and the store of one vec4 of y.
fn finish(o: u32, n4: u32, acc: vec4<f32>) {
  var v = acc;
  if (HAS_BIAS) {
    v += unpack4(bias[n4]);
  }
  v = activate(v);
  if (EPILOGUE == 3u) {
    v += unpack4(y[o]);
  }
  y[o] = pack4(v);
}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let rows = params.rows;
  let k4s = params.in_dim / 4u;
  let n4s = params.out_dim / 4u;
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;
  let sg = ${subgroups === 1 ? '0u; // one subgroup: workgroup-uniform offsets' : 'tid / SG;'}
  let lane = tid % SG;
  let sub_m = (sg / ${t.subgroupsN}u) * ${TM * M}u;
  let sub_n = (sg % ${t.subgroupsN}u) * ${TN * N}u;
  let n4_0 = (n0 + sub_n) / 4u;
  let a_base = sub_m * A_STRIDE;
  let b_base = sub_n * B_STRIDE;
  // This invocation's share of each tile: k vec4 a_k / 4 of rows a_row + ${rowsPerPass}·i.
  let a_row = tid / KQ;
  let a_k = (tid % KQ) * 4u;

${each(range(aLoads), (i) => `  var ra_${i}: Vec4Storage;`)}
${each(range(bLoads), (j) => `  var rb_${j}: Vec4Storage;`)}
${each(range(TM), (i) => each(range(TN), (j) => `  var acc_${i}_${j} = ${result}();`))}

  let tiles = (k4s + KQ - 1u) / KQ;
${fetch('  ', 'tid % KQ')}
${stage('  ', t.doubleBuffered ? '0' : '')}
  workgroupBarrier();
${t.doubleBuffered ? doubleLoop : singleLoop}

  let slice = sg * ${M}u * C_STRIDE;
${each(range(rounds), round)}
}
${spelling.declarations?.(M, N, K, bufs.flatMap((b) => [['left', `tile_a${b}`], ['right', `tile_b${b}`]] as const), ['tile_c']) ?? ''}`;
}

const PARAMS_FIELDS = { rows: 'u32', in_dim: 'u32', out_dim: 'u32' } as const;
const PARAMS = new UniformStruct('Params', PARAMS_FIELDS);
type VisionLinearMmaDescriptor = KernelDescriptor<typeof PARAMS_FIELDS, 'x' | 'w' | 'bias' | 'y'>;

/** The whole module for a storage type and plan: the spelling's header, storage prelude, activation, body. */
export function visionLinearMmaCode(storage: VisionStorage, plan: VisionLinearMmaPlan, spelling: MatrixSpelling = SUBGROUP_MATRIX_SPELLINGS.template): string {
  return `${spelling.header}\n\n${STORAGE_PRELUDE[storage]}\n${VISION_ACTIVATION_WGSL}\n${visionLinearMmaBody(plan, spelling)}`;
}

const descriptors = new Map<string, VisionLinearMmaDescriptor>();

/** The descriptor for a storage type and plan (the builtins' template spelling); one per variant. */
export function visionLinearMmaKernel(storage: VisionStorage, plan: VisionLinearMmaPlan): VisionLinearMmaDescriptor {
  const name = `vision-linear-mma/${storage}/${visionLinearMmaName(plan)}`;
  let kernel = descriptors.get(name);
  if (!kernel) {
    kernel = defineKernel({ name, code: visionLinearMmaCode(storage, plan), constants: ['EPILOGUE', 'HAS_BIAS'], params: PARAMS, bindings: ['x', 'w', 'bias', 'y'] });
    descriptors.set(name, kernel);
  }
  return kernel;
}

const EPILOGUE_CODE: Readonly<Record<VisionLinearEpilogue, number>> = { none: 0, 'quick-gelu': 1, gelu: 2, residual: 3 };

/**
 * Records y = epilogue(x · weightᵀ + bias) on subgroup matrices into `pass` and returns the dispatch (the caller
 * destroys it after submission), or null for zero rows. The same checks and errors as encodeVisionLinear.
 */
export function encodeVisionLinearMma(
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionLinearBuffers,
  shape: VisionLinearShape,
  options: { readonly plan: VisionLinearMmaPlan; readonly epilogue?: VisionLinearEpilogue; readonly storage?: VisionStorage },
): KernelDispatch | null {
  const storage = options.storage ?? 'f32';
  const epilogue = options.epilogue ?? 'none';
  checkVisionLinearCall(buffers, shape, storage);
  const { rows, inDim, outDim } = shape;
  const [gx, gy] = visionLinearMmaWorkgroups(shape, options.plan);
  const maxGroups = kernels.device.limits.maxComputeWorkgroupsPerDimension;
  if (gy > maxGroups || gx > maxGroups) {
    throw new SarashinaError('image-too-large', `vision-linear: ${rows} rows need ${gy} workgroups along one dimension, over this GPU's ${maxGroups}. Send fewer or smaller images.`, { rows });
  }
  if (rows === 0) return null;
  return kernels.record(pass, visionLinearMmaKernel(storage, options.plan), {
    constants: { EPILOGUE: EPILOGUE_CODE[epilogue], HAS_BIAS: buffers.bias ? 1 : 0 },
    params: { rows, in_dim: inDim, out_dim: outDim },
    buffers: { x: buffers.x, w: buffers.weight, bias: buffers.bias ?? buffers.weight, y: buffers.y },
    workgroups: [gx, gy, 1],
  });
}
