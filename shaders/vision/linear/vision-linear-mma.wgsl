// vision-linear-mma — the vision tower's dense layers on subgroup matrices (tensor cores): y = epilogue(x · Wᵀ + b)
// with W in Hugging Face's [out, in] layout, f16 × f16 products accumulated in f32. The same contract as
// vision-linear.wgsl (bindings, Params, EPILOGUE, HAS_BIAS); needs `shader-f16` and
// `chromium-experimental-subgroup-matrix` with an f16 → f32 configuration (MM × MN × MK).
//
// This file is the kernel body. It is compiled after
//   the enable directives and a storage prelude written by vision-linear-mma.ts: `alias Vec4Storage` (vec4<f16> or
//   vec4<f32>), to_half4 (storage → f16 operands), unpack4 / pack4 (storage ↔ f32, for bias, residual and y);
//   a tiling prelude: consts SG (subgroup size), MM, MN, MK (the subgroup-matrix configuration: result rows,
//   result columns, k), SG_M, SG_N (subgroups along rows and columns), TM, TN (result matrices per subgroup along
//   rows and columns), TK (k per workgroup-memory tile, a multiple of MK and of 8), and subgroup_index(tid).
// Bindings (indices in vec4s; in_dim and out_dim are multiples of 4)
//   0 params  uniform { rows, in_dim, out_dim, _ }
//   1 x       storage read   [rows, in_dim]
//   2 w       storage read   [out_dim, in_dim]   (Hugging Face nn.Linear weight)
//   3 bias    storage read   [out_dim]           (any buffer when HAS_BIAS is false: never read)
//   4 y       storage read_write [rows, out_dim]  (EPILOGUE 3 reads it: y += …, the residual add)
// Epilogues: 0 none, 1 QuickGELU v·σ(1.702 v), 2 exact GELU 0.5·v·(1 + erf(v/√2)), 3 y + v (residual, in place).
// Tiling: a workgroup of SG_M × SG_N subgroups owns a BM × BN block of y (BM = SG_M·TM·MM, BN = SG_N·TN·MN); each
// subgroup owns TM × TN result matrices (a (TM·MM) × (TN·MN) sub-block) in registers. The workgroup walks k in steps
// of TK: the x tile [BM, TK] and the w tile [BN, TK] (both k-contiguous in memory, so the loads are coalesced) are
// converted to f16 and stored k-contiguous in workgroup memory, rows padded by 8 halves (16 bytes) against bank
// conflicts. x's rows are the left matrices (row-major); w's rows are the right matrices' columns, so the right
// matrices are loaded column-major from the same k-contiguous layout. The next k tile is fetched into registers
// while the current one is multiplied (two barriers per k tile, as vision-linear.wgsl). Rows past `rows`, columns
// past out_dim and k past in_dim are staged as zeros, so edge blocks multiply exactly and their extra outputs are
// never stored.
// Epilogue: result matrices are opaque (which lane holds which element is the implementation's), so each subgroup
// stores one result matrix at a time into its own slice of workgroup memory, then its lanes read it back as vec4s
// of a row and apply bias, activation and residual per element.
// Every subgroup-matrix builtin is reached in workgroup-uniform control flow (loop bounds are constants or uniform
// params); their offsets are uniform per subgroup only, hence the prelude's diagnostic(off,
// chromium.subgroup_matrix_uniformity).
// Dispatch: (ceil(out_dim / BN), ceil(rows / BM)) workgroups of SG_M · SG_N · SG invocations.

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

const BM = SG_M * TM * MM;
const BN = SG_N * TN * MN;
const THREADS = SG_M * SG_N * SG;
const KQ = TK / 4u;
const A_LOADS = BM * KQ / THREADS;
const B_LOADS = BN * KQ / THREADS;
// Row strides of the staged tiles in halves: 16-byte aligned, off the bank period.
const A_STRIDE = TK + 8u;
const B_STRIDE = TK + 8u;
// Row stride of a subgroup's epilogue slice in f32 (16-byte aligned).
const C_STRIDE = MN + 4u;
const C_SLICE = MM * C_STRIDE;

// A load or store counts as reaching offset + stride · (its rows, or its columns when column-major), which for the
// last matrix of a tile is up to TK halves past the tile's rows (C_STRIDE floats for tile_c): the arrays carry that
// slack, so no access is clamped.
var<workgroup> tile_a: array<f16, BM * A_STRIDE + TK>;
var<workgroup> tile_b: array<f16, BN * B_STRIDE + TK>;
var<workgroup> tile_c: array<f32, SG_M * SG_N * C_SLICE + C_STRIDE>;

// activate(): vision-activation.wgsl, prepended by the descriptor.

// Registers (storage words as loaded) → f16 → workgroup memory; slot s is tile row s / KQ, vec4 s % KQ along k.
fn store_tiles(tid: u32, ra: ptr<function, array<Vec4Storage, A_LOADS>>, rb: ptr<function, array<Vec4Storage, B_LOADS>>) {
  for (var i = 0u; i < A_LOADS; i++) {
    let s = tid + i * THREADS;
    let o = (s / KQ) * A_STRIDE + (s % KQ) * 4u;
    let h = to_half4((*ra)[i]);
    tile_a[o] = h.x;
    tile_a[o + 1u] = h.y;
    tile_a[o + 2u] = h.z;
    tile_a[o + 3u] = h.w;
  }
  for (var i = 0u; i < B_LOADS; i++) {
    let s = tid + i * THREADS;
    let o = (s / KQ) * B_STRIDE + (s % KQ) * 4u;
    let h = to_half4((*rb)[i]);
    tile_b[o] = h.x;
    tile_b[o + 1u] = h.y;
    tile_b[o + 2u] = h.z;
    tile_b[o + 3u] = h.w;
  }
}

// Global → registers for the k tile starting at vec4 `k40`; zeros outside the matrices.
fn fetch_tiles(tid: u32, m0: u32, n0: u32, k40: u32, ra: ptr<function, array<Vec4Storage, A_LOADS>>, rb: ptr<function, array<Vec4Storage, B_LOADS>>) {
  let k4s = params.in_dim / 4u;
  for (var i = 0u; i < A_LOADS; i++) {
    let s = tid + i * THREADS;
    let m = m0 + s / KQ;
    let k4 = k40 + s % KQ;
    (*ra)[i] = Vec4Storage();
    if (m < params.rows && k4 < k4s) {
      (*ra)[i] = x[m * k4s + k4];
    }
  }
  for (var i = 0u; i < B_LOADS; i++) {
    let s = tid + i * THREADS;
    let n = n0 + s / KQ;
    let k4 = k40 + s % KQ;
    (*rb)[i] = Vec4Storage();
    if (n < params.out_dim && k4 < k4s) {
      (*rb)[i] = w[n * k4s + k4];
    }
  }
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let rows = params.rows;
  let k4s = params.in_dim / 4u;
  let n4s = params.out_dim / 4u;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  // The workgroup's size is a multiple of SG (the adapter's only subgroup size), so subgroup g is invocations
  // g·SG … g·SG + SG − 1 (subgroup_index: tid / SG, or 0 for one subgroup, which keeps the offsets uniform).
  let sg = subgroup_index(tid);
  let lane = tid % SG;
  let sub_m = (sg / SG_N) * TM * MM;
  let sub_n = (sg % SG_N) * TN * MN;

  var acc: array<subgroup_matrix_result<f32, MN, MM>, TM * TN>;
  var left: array<subgroup_matrix_left<f16, MK, MM>, TM>;
  var ra: array<Vec4Storage, A_LOADS>;
  var rb: array<Vec4Storage, B_LOADS>;

  let tiles = (k4s + KQ - 1u) / KQ;
  fetch_tiles(tid, m0, n0, 0u, &ra, &rb);
  store_tiles(tid, &ra, &rb);
  workgroupBarrier();
  for (var t = 0u; t < tiles; t++) {
    let more = t + 1u < tiles;
    if (more) {
      fetch_tiles(tid, m0, n0, (t + 1u) * KQ, &ra, &rb);
    }
    for (var kk = 0u; kk < TK; kk += MK) {
      for (var i = 0u; i < TM; i++) {
        left[i] = subgroupMatrixLoad<subgroup_matrix_left<f16, MK, MM>, row_major>(&tile_a, (sub_m + i * MM) * A_STRIDE + kk, A_STRIDE);
      }
      for (var j = 0u; j < TN; j++) {
        // Column n of the right matrix is row n of the staged w tile (k-contiguous): column-major.
        let right = subgroupMatrixLoad<subgroup_matrix_right<f16, MN, MK>, col_major>(&tile_b, (sub_n + j * MN) * B_STRIDE + kk, B_STRIDE);
        for (var i = 0u; i < TM; i++) {
          acc[i * TN + j] = subgroupMatrixMultiplyAccumulate(left[i], right, acc[i * TN + j]);
        }
      }
    }
    if (more) {
      // Everyone is done reading the tile before it is overwritten.
      workgroupBarrier();
      store_tiles(tid, &ra, &rb);
    }
    workgroupBarrier();
  }

  let slice = sg * C_SLICE;
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      subgroupMatrixStore<row_major>(&tile_c, slice, acc[i * TN + j], C_STRIDE);
      workgroupBarrier();
      for (var item = lane; item < MM * MN / 4u; item += SG) {
        let r = item / (MN / 4u);
        let c = (item % (MN / 4u)) * 4u;
        let m = m0 + sub_m + i * MM + r;
        let n4 = (n0 + sub_n + j * MN + c) / 4u;
        if (m < rows && n4 < n4s) {
          let at = slice + r * C_STRIDE + c;
          var v = vec4<f32>(tile_c[at], tile_c[at + 1u], tile_c[at + 2u], tile_c[at + 3u]);
          if (HAS_BIAS) {
            v += unpack4(bias[n4]);
          }
          v = activate(v);
          let o = m * n4s + n4;
          if (EPILOGUE == 3u) {
            v += unpack4(y[o]);
          }
          y[o] = pack4(v);
        }
      }
      // The slice is rewritten by the next matrix.
      workgroupBarrier();
    }
  }
}
