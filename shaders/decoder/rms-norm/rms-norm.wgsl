// rms-norm — Llama RMSNorm of `rows` rows.
//
// Bindings
//   0 params   uniform Params
//   1 x        storage read f32 [rows, dim]
//   2 weight   storage read f32 [dim]
//   3 y        storage read_write f32 [rows, dim]   the normalized output
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
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

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
  partial[lid] = sum_sq;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(params.dim) + params.eps);
  for (var i = lid; i < params.dim; i += WORKGROUP_SIZE) {
    y[base + i] = x[base + i] * inv * weight[i];
  }
}
