// rms-norm — Llama RMSNorm of `rows` rows, optionally after a fused residual add.
//
// Bindings
//   0 params   uniform { rows, dim, eps: f32, _ }
//   1 x        storage read_write f32 [rows, dim]   main: the input; main_residual: the hidden state,
//                                                   updated in place to x + delta before normalizing
//   2 weight   storage read f32 [dim]
//   3 y        storage read_write f32 [rows, dim]   the normalized output
//   4 delta    storage read f32 [rows, dim]         (main_residual only)
// Math (HF LlamaRMSNorm in f32): y = x · inverseSqrt(mean(x²) + eps) · weight
// Dispatch: one workgroup per row (linear id = wid.x + wid.y * num_workgroups.x).
// Precision: f32; the sum of squares is a strided per-invocation sum, then a workgroup tree.

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> delta: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

fn normalize_row(row: u32, lid: u32, sum_sq: f32) {
  partial[lid] = sum_sq;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(params.dim) + params.eps);
  let base = row * params.dim;
  for (var i = lid; i < params.dim; i += WORKGROUP_SIZE) {
    y[base + i] = x[base + i] * inv * weight[i];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.dim;
  var sum_sq = 0.0;
  for (var i = lid; i < params.dim; i += WORKGROUP_SIZE) {
    let v = x[base + i];
    sum_sq += v * v;
  }
  normalize_row(row, lid, sum_sq);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_residual(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.dim;
  var sum_sq = 0.0;
  // Each invocation writes and later re-reads only its own elements, so no barrier is needed between.
  for (var i = lid; i < params.dim; i += WORKGROUP_SIZE) {
    let v = x[base + i] + delta[base + i];
    x[base + i] = v;
    sum_sq += v * v;
  }
  normalize_row(row, lid, sum_sq);
}
