/**
 * vision-attention-mma — the vision tower's attention (vision-attention.wgsl: 2-D RoPE on q and k, block-diagonal
 * non-causal softmax attention over images) on tensor cores, through WGSL subgroup matrices
 * (`chromium_experimental_subgroup_matrix`, f16 × f16 → f32). Generated per plan (vision-attention-mma-plan.ts)
 * because the matrix shape and the number of fragments are compile-time template arguments; compiled after one of
 * the storage preludes io-f32.wgsl / io-f16.wgsl (bindings 1 and 5, load_qkv / store_out), with the same bindings,
 * params, dispatch and tile order as vision-attention.wgsl:
 *   0 params      uniform { heads, head_dim, images, total_tiles }
 *   1 qkv         [rows, 3, heads, head_dim] (prelude's storage type)
 *   2 cos_tab     vec4<f32> [rows, head_dim / 2]      3 sin_tab  (the same)
 *   4 cu_seqlens  u32 [images + 1]                    5 out      [rows, heads, head_dim] (prelude's storage type)
 * Dispatch: total_tiles × heads workgroups (linear id = wid.x + wid.y · num_workgroups.x; head = id / total_tiles),
 * query tiles of `rows` rows that never straddle images.
 *
 * Per workgroup (one head, `rows` query rows of one image; subgroup s owns rows s·M … s·M + M − 1):
 *   stage q = rope(q) · log2(e) / sqrt(head_dim) as f16 (columns past head_dim are 0) in workgroup memory, load it
 *   once into head_dim / K left fragments per subgroup; then per key tile of `keys` keys of the image:
 *     stage rope(k) and v as f16 ([key][d], rows past the image and columns past head_dim are 0)
 *     S = Q·Kᵀ  (MMA, f32) → workgroup memory (fragments are opaque)
 *     scalar online softmax per row in the log2 domain, with a lazy running max: m moves only when the tile's max
 *       exceeds it by more than RESCALE_LOG2 (8), so P = exp2(S − m) ≤ 2^8 fits f16 and O is rescaled rarely; padded
 *       keys get p = 0 and never count in the max; P → workgroup memory as f16
 *     when any row of the workgroup moved its max this tile (a workgroup-uniform flag), O goes through workgroup
 *       memory once to be scaled by exp2(m_old − m_new) per row
 *     O += P·V  (MMA, f32 accumulators kept in registers across tiles)
 *   out = O / l, rounded by store_out.
 * Precision: q, rope(k), v and P are rounded to f16 (11 significant bits); products accumulate in f32; max, sums,
 * exp2 and the final division are f32.
 * Lanes: lane ℓ of subgroup s serves row ℓ mod M for the softmax, keys (ℓ div M) + L·i (L = subgroup size / M lanes
 * per row, in a per-row rotated order so the lanes hit distinct banks); row maxima and sums combine with
 * subgroupShuffleXor over the row's L lanes.
 */
import type { VisionAttentionMmaPlan } from './vision-attention-mma-plan';

/**
 * Spelling of the subgroup-matrix load/store builtins: 'template' (current Dawn/Tint:
 * `subgroupMatrixLoad<T, row_major>(p, offset, stride)`, `subgroupMatrixStore<row_major>(p, offset, value, stride)`)
 * or 'flag' (the first Chrome releases: the majorness as a bool argument, `true` = column-major).
 */
export type SubgroupMatrixSyntax = 'template' | 'flag';

export type MatrixLayout = 'row_major' | 'col_major';
export type MatrixKind = 'left' | 'right' | 'result';

/**
 * How the generated kernel spells its matrix operations. The builtins (SUBGROUP_MATRIX_SPELLINGS) are what ships;
 * a test can substitute a software spelling to check the rest of the kernel on adapters without subgroup matrices.
 */
export interface MatrixSpelling {
  /** Directives before the storage prelude. */
  readonly header: string;
  /** The type of a fragment (M × K left, K × N right, M × N result). */
  type(kind: MatrixKind, M: number, N: number, K: number): string;
  /** A load of `kind` from workgroup array `array` (element (r, c) at offset + r·stride + c when row-major). */
  load(kind: MatrixKind, type: string, array: string, offset: string, layout: MatrixLayout, stride: string): string;
  /** A row-major store of a result fragment into workgroup array `array`. */
  store(array: string, offset: string, value: string, stride: string): string;
  /** The multiply-accumulate function: mma(left, right, acc) → acc + left · right. */
  readonly mma: string;
  /** Module-scope declarations the spelling needs, given the (kind, workgroup array) pairs loaded and stored. */
  declarations?(M: number, N: number, K: number, loads: readonly (readonly [MatrixKind, string])[], stores: readonly string[]): string;
}

const BUILTIN_HEADER = ['diagnostic(off, chromium.subgroup_matrix_uniformity);', 'enable f16;', 'enable subgroups;', 'enable chromium_experimental_subgroup_matrix;'].join('\n');

/** The WGSL builtins in each spelling. Types are <component, columns, rows>: left M × K is <f16, K, M>. */
export const SUBGROUP_MATRIX_SPELLINGS: Readonly<Record<SubgroupMatrixSyntax, MatrixSpelling>> = {
  template: {
    header: BUILTIN_HEADER,
    type: builtinType,
    load: (_kind, type, array, offset, layout, stride) => `subgroupMatrixLoad<${type}, ${layout}>(&${array}, ${offset}, ${stride})`,
    store: (array, offset, value, stride) => `subgroupMatrixStore<row_major>(&${array}, ${offset}, ${value}, ${stride})`,
    mma: 'subgroupMatrixMultiplyAccumulate',
  },
  flag: {
    header: BUILTIN_HEADER,
    type: builtinType,
    load: (_kind, type, array, offset, layout, stride) => `subgroupMatrixLoad<${type}>(&${array}, ${offset}, ${layout === 'col_major'}, ${stride})`,
    store: (array, offset, value, stride) => `subgroupMatrixStore(&${array}, ${offset}, ${value}, false, ${stride})`,
    mma: 'subgroupMatrixMultiplyAccumulate',
  },
};

function builtinType(kind: MatrixKind, M: number, N: number, K: number): string {
  if (kind === 'left') return `subgroup_matrix_left<f16, ${K}, ${M}>`;
  if (kind === 'right') return `subgroup_matrix_right<f16, ${N}, ${K}>`;
  return `subgroup_matrix_result<f32, ${N}, ${M}>`;
}

/** The running max moves only when a tile's max exceeds it by more than this (log2 units): P = exp2(S − m) ≤ 2^8. */
const DEFAULT_RESCALE_LOG2 = 8;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The WGSL of `plan` (header and body; the caller puts the storage prelude after the header). */
export function visionAttentionMmaWgsl(plan: VisionAttentionMmaPlan, spelling: MatrixSpelling = SUBGROUP_MATRIX_SPELLINGS.template): { header: string; body: string } {
  const { M, N, K, subgroupSize, subgroups, rows, keys, paddedHeadDim: dp, kvStride, pStride, sStride } = plan;
  const ownQ = plan.ownQ === true;
  const lanesPerRow = subgroupSize / M;
  const keysPerLane = keys / lanesPerRow;
  const qFrags = dp / K; // left fragments of q per subgroup (and K-steps of S = Q·Kᵀ)
  const sTiles = keys / N; // result fragments of S per subgroup
  const pSteps = keys / K; // K-steps of O += P·V
  const oFrags = dp / N; // result fragments of O per subgroup
  const roundFrags = keys / N; // O fragments that fit the subgroup's rows of the score tile at once
  const rounds = Math.ceil(oFrags / roundFrags);
  for (const [what, ok] of [
    ['M divides the subgroup size', subgroupSize % M === 0],
    ['keys is a multiple of N, K and the lanes per row', keys % N === 0 && keys % K === 0 && keys % lanesPerRow === 0],
    ['the padded head is a multiple of N and K', dp % N === 0 && dp % K === 0],
    ['rows = subgroups · M', rows === subgroups * M],
  ] as const) {
    if (!ok) throw new RangeError(`vision-attention-mma plan: ${what} (${JSON.stringify(plan)})`);
  }

  const left = spelling.type('left', M, N, K);
  const right = spelling.type('right', M, N, K);
  const result = spelling.type('result', M, N, K);
  const kindOf = (type: string): MatrixKind => (type === left ? 'left' : type === right ? 'right' : 'result');
  const loads = new Map<string, readonly [MatrixKind, string]>();
  const stores = new Set<string>();
  const load = (type: string, array: string, offset: string, layout: MatrixLayout, stride: string): string => {
    loads.set(`${kindOf(type)} ${array}`, [kindOf(type), array]);
    return spelling.load(kindOf(type), type, array, offset, layout, stride);
  };
  const store = (array: string, offset: string, value: string, stride: string): string => {
    stores.add(array);
    return spelling.store(array, offset, value, stride);
  };
  const mma = spelling.mma;
  const lines = (items: readonly number[], f: (i: number) => string): string => items.map(f).join('\n');
  // Combine a value over the row's lanes (lanes ℓ, ℓ ^ M, ℓ ^ 2M, …).
  const rowReduce = (name: string, op: (a: string, b: string) => string): string =>
    lines(
      range(Math.log2(lanesPerRow)).map((b) => M << b),
      (mask) => `  ${name} = ${op(name, `subgroupShuffleXor(${name}, ${mask}u)`)};`,
    );
  const indent = (text: string, by: string): string => text.replace(/^(?=.)/gm, by);
  // The subgroup's q fragments from workgroup array `from`.
  const loadQ = (from: string, by: string): string =>
    lines(range(qFrags), (k) => `${by}let q_${k} = ${load(left, from, `sg * MMA_M * KV_STRIDE + ${k * K}u`, 'row_major', 'KV_STRIDE')};`);

  // O fragments of round r go through the subgroup's rows of s_tile at column (t − r·roundFrags)·N.
  const roundOf = (r: number): number[] => range(oFrags).slice(r * roundFrags, (r + 1) * roundFrags);
  const stageO = (r: number): string =>
    lines(roundOf(r), (t) => `${store('s_tile', `sg_s + ${(t - r * roundFrags) * N}u`, `o_${t}`, 'S_STRIDE')};`);
  const reloadO = (r: number): string =>
    lines(roundOf(r), (t) => `o_${t} = ${load(result, 's_tile', `sg_s + ${(t - r * roundFrags) * N}u`, 'row_major', 'S_STRIDE')};`);
  const rescale = lines(range(rounds), (r) =>
    [
      stageO(r),
      'workgroupBarrier();',
      `for (var c = part; c < ${roundOf(r).length * N}u; c += LANES_PER_ROW) {`,
      '  s_tile[s_row + c] *= alpha;',
      '}',
      'workgroupBarrier();',
      reloadO(r),
      ...(r + 1 < rounds ? ['workgroupBarrier();'] : []),
    ].join('\n'),
  );
  const output = lines(range(rounds), (r) =>
    [
      stageO(r),
      'workgroupBarrier();',
      'if (out_row < seq_end) {',
      `  for (var c = part; c < ${(roundOf(r).length * N) / 4}u; c += LANES_PER_ROW) {`,
      `    let d4 = ${(r * roundFrags * N) / 4}u + c;`,
      '    if (d4 < vec4s) {',
      '      let at = s_row + 4u * c;',
      '      store_out(out_row * out_stride + head * vec4s + d4, vec4<f32>(s_tile[at], s_tile[at + 1u], s_tile[at + 2u], s_tile[at + 3u]) * inv_l);',
      '    }',
      '  }',
      '}',
      ...(r + 1 < rounds ? ['workgroupBarrier();'] : []),
    ].join('\n'),
  );

  const header = spelling.header;

  const body = `// vision-attention-mma body (see vision-attention-mma-wgsl.ts for the algorithm and bindings).

struct Params {
  heads: u32,
  head_dim: u32,
  images: u32,
  total_tiles: u32,
}

const MMA_M: u32 = ${M}u;
const MMA_N: u32 = ${N}u;
const MMA_K: u32 = ${K}u;
const SUBGROUP_SIZE: u32 = ${subgroupSize}u;
const THREADS: u32 = ${subgroups * subgroupSize}u;
// Query rows per workgroup (subgroups · MMA_M) and keys per tile.
const ROWS: u32 = ${rows}u;
const KEYS: u32 = ${keys}u;
// The head padded to whole fragments, in vec4s.
const DP_VEC4S: u32 = ${dp / 4}u;
const KV_STRIDE: u32 = ${kvStride}u;
const P_STRIDE: u32 = ${pStride}u;
const S_STRIDE: u32 = ${sStride}u;
const STAGE_ROWS: u32 = ${ownQ ? keys : Math.max(rows, keys)}u;
const LANES_PER_ROW: u32 = ${lanesPerRow}u;
const KEYS_PER_LANE: u32 = ${keysPerLane}u;
const RESCALE_LOG2: f32 = ${(plan.rescaleLog2 ?? DEFAULT_RESCALE_LOG2).toFixed(1)};
// Far below any real score but finite, so that (m_old − m_new) never becomes inf − inf.
const NEG_BIG: f32 = -3.0e38;
const LOG2_E: f32 = 1.4426950408889634;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> cos_tab: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> sin_tab: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> cu_seqlens: array<u32>;

// Rotated q of the workgroup's rows (before the key loop), then each tile's rotated k: [row][KV_STRIDE] f16.
// Every matrix array has one row stride of slack: Dawn bounds-checks a subgroup-matrix load or store as reaching
// offset + stride · (its rows, or its columns when column-major), i.e. past the last row by the fragment's column
// offset, and clamps an access it finds out of bounds to the array's end — silently reading other rows (seen on the
// H200: S = Q·Kᵀ wrong everywhere without the slack; bench/gpu/vision-attention-mma-debug.ts).
var<workgroup> k_tile: array<f16, (STAGE_ROWS + 1u) * KV_STRIDE>;${ownQ ? '\n// Rotated, scaled q of the workgroup\'s rows for the whole key loop: [row][KV_STRIDE] f16.\nvar<workgroup> q_tile: array<f16, (ROWS + 1u) * KV_STRIDE>;' : ''}
var<workgroup> v_tile: array<f16, (KEYS + 1u) * KV_STRIDE>;
// Scores [ROWS][S_STRIDE]; also where O passes through for a rescale and for the output.
var<workgroup> s_tile: array<f32, (ROWS + 1u) * S_STRIDE>;
// Weights P [ROWS][P_STRIDE] as f16, the left operand of O += P·V.
var<workgroup> p_tile: array<f16, (ROWS + 1u) * P_STRIDE>;
// iteration + 1 of the last key tile in which some row of the workgroup moved its running max.
var<workgroup> rescale_at: u32;

// Rotated vec4 c of (row, part, head); part 0 = q, 1 = k (as vision-attention.wgsl's load_rotated).
fn rotated(row: u32, part: u32, head: u32, c: u32) -> vec4<f32> {
  let vec4s = params.head_dim / 4u;
  let half_vec4s = vec4s / 2u;
  let base = (row * 3u + part) * params.heads * vec4s + head * vec4s;
  let x = load_qkv(base + c);
  if (c < half_vec4s) {
    let t = row * half_vec4s + c;
    return x * cos_tab[t] - load_qkv(base + c + half_vec4s) * sin_tab[t];
  }
  let t = row * half_vec4s + c - half_vec4s;
  return x * cos_tab[t] + load_qkv(base + c - half_vec4s) * sin_tab[t];
}

fn put_k(at: u32, x: vec4<f32>) {
  let h = vec4<f16>(x);
  k_tile[at] = h.x;
  k_tile[at + 1u] = h.y;
  k_tile[at + 2u] = h.z;
  k_tile[at + 3u] = h.w;
}

${ownQ ? `fn put_q(at: u32, x: vec4<f32>) {
  let h = vec4<f16>(x);
  q_tile[at] = h.x;
  q_tile[at + 1u] = h.y;
  q_tile[at + 2u] = h.z;
  q_tile[at + 3u] = h.w;
}

` : ''}fn put_v(at: u32, x: vec4<f32>) {
  let h = vec4<f16>(x);
  v_tile[at] = h.x;
  v_tile[at + 1u] = h.y;
  v_tile[at + 2u] = h.z;
  v_tile[at + 3u] = h.w;
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let id = wid.x + wid.y * nwg.x;
  if (id >= params.total_tiles * params.heads) {
    return;
  }
  let head = id / params.total_tiles;
  var tile = id % params.total_tiles;
  // The image this query tile belongs to (as vision-attention.wgsl).
  var image = 0u;
  for (; image < params.images; image++) {
    let tiles = (cu_seqlens[image + 1u] - cu_seqlens[image] + ROWS - 1u) / ROWS;
    if (tile < tiles) {
      break;
    }
    tile -= tiles;
  }
  let seq_start = cu_seqlens[image];
  let seq_end = cu_seqlens[image + 1u];
  let row0 = seq_start + tile * ROWS;
  let vec4s = params.head_dim / 4u;

  // Subgroup sg owns rows sg·MMA_M …; in the scalar softmax, this lane serves row \`row\` of them, keys part + L·i.
  let sg = lid / SUBGROUP_SIZE;
  let row = lane % MMA_M;
  let part = lane / MMA_M;
  let sg_s = sg * MMA_M * S_STRIDE;
  let sg_p = sg * MMA_M * P_STRIDE;
  let s_row = sg_s + row * S_STRIDE;
  let p_row = sg_p + row * P_STRIDE;

  let q_scale = inverseSqrt(f32(params.head_dim)) * LOG2_E;
  for (var i = lid; i < ROWS * DP_VEC4S; i += THREADS) {
    let r = i / DP_VEC4S;
    let c = i % DP_VEC4S;
    var q = vec4<f32>(0.0);
    if (row0 + r < seq_end && c < vec4s) {
      q = rotated(row0 + r, 0u, head, c) * q_scale;
    }
    ${ownQ ? 'put_q' : 'put_k'}(r * KV_STRIDE + 4u * c, q);
  }
  workgroupBarrier();
${ownQ ? '' : `${loadQ('k_tile', '  ')}\n  // The first key tile overwrites q.\n  workgroupBarrier();\n`}
${lines(range(oFrags), (t) => `  var o_${t} = ${result}();`)}
  // Running max of this lane's row (log2 domain) and this lane's share of the row's sum.
  var m = NEG_BIG;
  var l = 0.0;
  var iter = 0u;
  for (var key0 = seq_start; key0 < seq_end; key0 += KEYS) {
    let keys = min(KEYS, seq_end - key0);
    for (var i = lid; i < KEYS * DP_VEC4S; i += THREADS) {
      let r = i / DP_VEC4S;
      let c = i % DP_VEC4S;
      var k = vec4<f32>(0.0);
      var v = vec4<f32>(0.0);
      if (r < keys && c < vec4s) {
        k = rotated(key0 + r, 1u, head, c);
        v = load_qkv(((key0 + r) * 3u + 2u) * params.heads * vec4s + head * vec4s + c);
      }
      put_k(r * KV_STRIDE + 4u * c, k);
      put_v(r * KV_STRIDE + 4u * c, v);
    }
    workgroupBarrier();

    // S = Q·Kᵀ: k_tile [key][d] is Kᵀ (d × key) in column-major order.
    {
${ownQ ? `${loadQ('q_tile', '      ')}\n` : ''}${lines(range(sTiles), (t) => `      var s_${t} = ${result}();`)}
${lines(range(qFrags), (k) =>
  lines(range(sTiles), (t) => `      let k_${k}_${t} = ${load(right, 'k_tile', `${t * N}u * KV_STRIDE + ${k * K}u`, 'col_major', 'KV_STRIDE')};\n      s_${t} = ${mma}(q_${k}, k_${k}_${t}, s_${t});`),
)}
${lines(range(sTiles), (t) => `      ${store('s_tile', `sg_s + ${t * N}u`, `s_${t}`, 'S_STRIDE')};`)}
    }
    workgroupBarrier();

    // Online softmax of this lane's keys of its row; keys past the image weigh 0 and do not count in the max.
    var tile_max = NEG_BIG;
    for (var i = 0u; i < KEYS_PER_LANE; i++) {
      let j = part + LANES_PER_ROW * ((i + row) % KEYS_PER_LANE);
      if (j < keys) {
        tile_max = max(tile_max, s_tile[s_row + j]);
      }
    }
${rowReduce('tile_max', (a, b) => `max(${a}, ${b})`)}
    var alpha = 1.0;
    if (tile_max > m + RESCALE_LOG2) {
      alpha = exp2(m - tile_max);
      m = tile_max;
      rescale_at = iter + 1u;
    }
    var sum = 0.0;
    for (var i = 0u; i < KEYS_PER_LANE; i++) {
      let j = part + LANES_PER_ROW * ((i + row) % KEYS_PER_LANE);
      var p = 0.0;
      if (j < keys) {
        p = exp2(s_tile[s_row + j] - m);
      }
      sum += p;
      p_tile[p_row + j] = f16(p);
    }
    l = l * alpha + sum;
    // (Also the barrier that publishes P.) O is all zeros before the first tile: nothing to rescale then.
    if (workgroupUniformLoad(&rescale_at) == iter + 1u && iter > 0u) {
${indent(rescale, '      ')}
    }

    // O += P·V: v_tile [key][d] is V (key × d) in row-major order.
${lines(range(pSteps), (kk) =>
  [
    '    {',
    `      let p = ${load(left, 'p_tile', `sg_p + ${kk * K}u`, 'row_major', 'P_STRIDE')};`,
    lines(range(oFrags), (t) => `      let v_${t} = ${load(right, 'v_tile', `${kk * K}u * KV_STRIDE + ${t * N}u`, 'row_major', 'KV_STRIDE')};\n      o_${t} = ${mma}(p, v_${t}, o_${t});`),
    '    }',
  ].join('\n'),
)}
    // The next tile overwrites k, v, S and P.
    workgroupBarrier();
    iter++;
  }

${rowReduce('l', (a, b) => `${a} + ${b}`)}
  let inv_l = 1.0 / l;
  let out_row = row0 + sg * MMA_M + row;
  let out_stride = params.heads * vec4s;
${indent(output, '  ')}
}
${spelling.declarations?.(M, N, K, [...loads.values()], [...stores]) ?? ''}`;
  return { header, body };
}
