// vision-linear — the vision tower's dense layers: y = epilogue(x · Wᵀ + b) with W in Hugging Face's [out, in]
// layout (the bytes the package ships), f32 arithmetic, register-blocked and tiled through workgroup memory.
//
// This file is the kernel body. It is compiled after
//   a storage prelude (../storage-f32.wgsl or ../storage-f16.wgsl): `alias Vec4Storage`, unpack4, pack4;
//   a tiling prelude written by vision-linear.ts: consts TM, TN (outputs per invocation along rows and
//   columns, multiples of 4), TK (k per workgroup-memory tile, a multiple of 4), WG_M, WG_N (invocations along
//   rows and columns).
// Bindings (indices in vec4s; in_dim and out_dim are multiples of 4)
//   0 params  uniform { rows, in_dim, out_dim, _ }
//   1 x       storage read   [rows, in_dim]
//   2 w       storage read   [out_dim, in_dim]   (Hugging Face nn.Linear weight)
//   3 bias    storage read   [out_dim]           (any buffer when HAS_BIAS is false: never read)
//   4 y       storage read_write [rows, out_dim]  (EPILOGUE 3 reads it: y += …, the residual add)
// Epilogues: 0 none, 1 QuickGELU v·σ(1.702 v), 2 exact GELU 0.5·v·(1 + erf(v/√2)), 3 y + v (residual, in place).
// Tiling: a workgroup owns a BM × BN block of y (BM = WG_M·TM, BN = WG_N·TN) and walks k in steps of TK. Each step
// loads the x tile [BM, TK] and the w tile [BN, TK] (both k-contiguous: coalesced vec4 loads) into workgroup
// memory transposed to [TK][BM] / [TK][BN], so that the inner loop reads TM/4 + TN/4 vec4s per k and does TM·TN
// FMAs. Invocation (ly, lx) owns rows 4·(i·WG_M + ly) + 0..3 and columns 4·(j·WG_N + lx) + 0..3 (i < TM/4,
// j < TN/4): neighbouring invocations read neighbouring vec4s (no bank conflicts) and store coalesced rows.
// The next k tile is fetched into registers while the current one is multiplied, then stored after a barrier
// (two barriers per k tile; two workgroup buffers were slower: bench/BENCH.md "Vision tower"). Rows past `rows`,
// columns past out_dim and k past in_dim are loaded as zeros and never stored.
// Dispatch: (ceil(out_dim / BN), ceil(rows / BM)) workgroups.

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

const BM = WG_M * TM;
const BN = WG_N * TN;
const KQ = TK / 4u;
const THREADS = WG_M * WG_N;
const A_LOADS = BM * KQ / THREADS;
const B_LOADS = BN * KQ / THREADS;
const TM4 = TM / 4u;
const TN4 = TN / 4u;

var<workgroup> tile_a: array<vec4<f32>, TK * BM / 4u>;
var<workgroup> tile_b: array<vec4<f32>, TK * BN / 4u>;

// activate(): vision-activation.wgsl, prepended by the descriptor.

// Registers → workgroup memory, transposed to [k][rows] / [k][cols]. The registers hold the loaded words as
// stored (f16 pairs unpacked only here): converting right after the load would wait for it there, before the
// current tile's FMAs, instead of here after them (f16 storage ran 25–38 % slower than f32 that way, H200 run 9).
fn store_tiles(tid: u32, ra: ptr<function, array<Vec4Storage, A_LOADS>>, rb: ptr<function, array<Vec4Storage, B_LOADS>>) {
  for (var i = 0u; i < A_LOADS; i++) {
    let s = tid + i * THREADS;
    let r = s / KQ;
    let kk = (s % KQ) * 4u;
    let v = unpack4((*ra)[i]);
    for (var c = 0u; c < 4u; c++) {
      tile_a[(kk + c) * (BM / 4u) + r / 4u][r % 4u] = v[c];
    }
  }
  for (var i = 0u; i < B_LOADS; i++) {
    let s = tid + i * THREADS;
    let r = s / KQ;
    let kk = (s % KQ) * 4u;
    let v = unpack4((*rb)[i]);
    for (var c = 0u; c < 4u; c++) {
      tile_b[(kk + c) * (BN / 4u) + r / 4u][r % 4u] = v[c];
    }
  }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let rows = params.rows;
  let k4s = params.in_dim / 4u;
  let n4s = params.out_dim / 4u;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let lx = lid.x;
  let ly = lid.y;

  var acc: array<vec4<f32>, TM * TN4>;
  for (var i = 0u; i < TM * TN4; i++) {
    acc[i] = vec4<f32>(0.0);
  }
  var ra: array<Vec4Storage, A_LOADS>;
  var rb: array<Vec4Storage, B_LOADS>;

  let tiles = (k4s + KQ - 1u) / KQ;
  // Prefetch of k tile 0 (and later tile t + 1): slot s → tile row s / KQ, vec4 s % KQ along k.
  for (var i = 0u; i < A_LOADS; i++) {
    let s = tid + i * THREADS;
    let m = m0 + s / KQ;
    let k4 = s % KQ;
    ra[i] = Vec4Storage();
    if (m < rows && k4 < k4s) {
      ra[i] = x[m * k4s + k4];
    }
  }
  for (var i = 0u; i < B_LOADS; i++) {
    let s = tid + i * THREADS;
    let n = n0 + s / KQ;
    let k4 = s % KQ;
    rb[i] = Vec4Storage();
    if (n < params.out_dim && k4 < k4s) {
      rb[i] = w[n * k4s + k4];
    }
  }

  store_tiles(tid, &ra, &rb);
  workgroupBarrier();
  for (var t = 0u; t < tiles; t++) {
    let more = t + 1u < tiles;
    if (more) {
      let next = (t + 1u) * KQ;
      for (var i = 0u; i < A_LOADS; i++) {
        let s = tid + i * THREADS;
        let m = m0 + s / KQ;
        let k4 = next + s % KQ;
        ra[i] = Vec4Storage();
        if (m < rows && k4 < k4s) {
          ra[i] = x[m * k4s + k4];
        }
      }
      for (var i = 0u; i < B_LOADS; i++) {
        let s = tid + i * THREADS;
        let n = n0 + s / KQ;
        let k4 = next + s % KQ;
        rb[i] = Vec4Storage();
        if (n < params.out_dim && k4 < k4s) {
          rb[i] = w[n * k4s + k4];
        }
      }
    }
    for (var k = 0u; k < TK; k++) {
      var a: array<vec4<f32>, TM4>;
      var b: array<vec4<f32>, TN4>;
      for (var i = 0u; i < TM4; i++) {
        a[i] = tile_a[k * (BM / 4u) + i * WG_M + ly];
      }
      for (var j = 0u; j < TN4; j++) {
        b[j] = tile_b[k * (BN / 4u) + j * WG_N + lx];
      }
      for (var i = 0u; i < TM4; i++) {
        for (var c = 0u; c < 4u; c++) {
          let av = vec4<f32>(a[i][c]);
          for (var j = 0u; j < TN4; j++) {
            let o = (i * 4u + c) * TN4 + j;
            acc[o] = fma(av, b[j], acc[o]);
          }
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

  for (var i = 0u; i < TM4; i++) {
    for (var c = 0u; c < 4u; c++) {
      let m = m0 + 4u * (i * WG_M + ly) + c;
      if (m >= rows) {
        continue;
      }
      for (var j = 0u; j < TN4; j++) {
        let n4 = n0 / 4u + j * WG_N + lx;
        if (n4 >= n4s) {
          continue;
        }
        var v = acc[(i * 4u + c) * TN4 + j];
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
  }
}
