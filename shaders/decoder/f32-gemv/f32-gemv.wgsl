// f32-gemv — y = x · Wᵀ for one token (M = 1), W an f32 row-major [n, k] matrix (fp32 packages' decoder linears).
//
// Bindings
//   0 params   uniform Params (k4 = k / 4; k a multiple of 4)
//   1 x        storage read vec4<f32> [k4]
//   2 weight   storage read vec4<f32> [n, k4]
//   3 y        storage read_write f32 [y_offset + n]
//   4 weight2  (main_swiglu only) the "up" matrix, same shape; weight is the gate
// Math: dot[r] = Σ_k x[k] · W[r, k].
//   main_store:  y[y_offset + r] = dot[r]
//   main_add:    y[y_offset + r] += dot[r]                        (residual add of o_proj / down_proj)
//   main_swiglu: y[y_offset + r] = silu(dot_gate[r]) · dot_up[r]  (silu(g) = g / (1 + e^−g))
// Work split: a workgroup owns ROWS consecutive rows; invocation lid walks vec4 columns lid, lid + WORKGROUP_SIZE, …
//   for all its rows (each x load reused ROWS times, row loads coalesced across invocations), then a
//   workgroup-memory tree sums the partials.
// Dispatch: ceil(n / ROWS) workgroups; linear id = wid.x + wid.y * num_workgroups.x. Rows past n are computed on
//   the clamped last row and not written.
// Precision: f32 (per-invocation strided sums, then a tree).

struct Params {
  n: u32,
  k4: u32,
  y_offset: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 64u;
const ROWS: u32 = 4u;
const ACC: u32 = 8u; // 2 · ROWS: gate and up for SwiGLU

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> weight2: array<vec4<f32>>;

var<workgroup> partial: array<f32, ACC * WORKGROUP_SIZE>;

fn reduce(lid: u32, acc_in: array<f32, ACC>) -> array<f32, ACC> {
  for (var a = 0u; a < ACC; a++) {
    partial[a * WORKGROUP_SIZE + lid] = acc_in[a];
  }
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      for (var a = 0u; a < ACC; a++) {
        partial[a * WORKGROUP_SIZE + lid] += partial[a * WORKGROUP_SIZE + lid + stride];
      }
    }
    workgroupBarrier();
  }
  var out: array<f32, ACC>;
  for (var a = 0u; a < ACC; a++) {
    out[a] = partial[a * WORKGROUP_SIZE];
  }
  return out;
}

fn first_row(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * ROWS;
}

fn row_index(row0: u32, r: u32) -> u32 {
  return min(row0 + r, params.n - 1u) * params.k4;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_store(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  var acc: array<f32, ACC>;
  for (var i = lid; i < params.k4; i += WORKGROUP_SIZE) {
    let xv = x[i];
    for (var r = 0u; r < ROWS; r++) {
      acc[r] += dot(xv, weight[row_index(row0, r) + i]);
    }
  }
  let s = reduce(lid, acc);
  if (lid < ROWS && row0 + lid < params.n) {
    y[params.y_offset + row0 + lid] = s[lid];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  var acc: array<f32, ACC>;
  for (var i = lid; i < params.k4; i += WORKGROUP_SIZE) {
    let xv = x[i];
    for (var r = 0u; r < ROWS; r++) {
      acc[r] += dot(xv, weight[row_index(row0, r) + i]);
    }
  }
  let s = reduce(lid, acc);
  if (lid < ROWS && row0 + lid < params.n) {
    let o = params.y_offset + row0 + lid;
    y[o] = y[o] + s[lid];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  var acc: array<f32, ACC>;
  for (var i = lid; i < params.k4; i += WORKGROUP_SIZE) {
    let xv = x[i];
    for (var r = 0u; r < ROWS; r++) {
      acc[r] += dot(xv, weight[row_index(row0, r) + i]);
      acc[ROWS + r] += dot(xv, weight2[row_index(row0, r) + i]);
    }
  }
  let s = reduce(lid, acc);
  if (lid < ROWS && row0 + lid < params.n) {
    let g = s[lid];
    y[params.y_offset + row0 + lid] = g / (1.0 + exp(-g)) * s[ROWS + lid];
  }
}
