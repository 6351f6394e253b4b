// vision-layer-norm — LayerNorm over the last axis of [rows, dim]: y = (x − mean) / sqrt(var + eps) · gamma + beta
// (biased variance, as torch.nn.LayerNorm), f32 arithmetic. Compiled after a storage prelude
// (../storage-f32.wgsl or ../storage-f16.wgsl: `alias Vec4Storage`, unpack4, pack4).
// Bindings (indices in vec4s; dim is a multiple of 4)
//   0 params  uniform { rows, dim, eps (f32 bits), _ }
//   1 x       storage read   [rows, dim]
//   2 gamma   storage read   [dim]
//   3 beta    storage read   [dim]
//   4 y       storage read_write [rows, dim]  (may not alias x)
// One workgroup per row (linear id = wid.x + wid.y · num_workgroups.x): the mean first, then the variance of
// x − mean (two passes over the row, which stays in cache: no cancellation of E[x²] − mean²). Reductions go
// through workgroup memory (no subgroups needed).

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<Vec4Storage>;
@group(0) @binding(2) var<storage, read> gamma: array<Vec4Storage>;
@group(0) @binding(3) var<storage, read> beta: array<Vec4Storage>;
@group(0) @binding(4) var<storage, read_write> y: array<Vec4Storage>;

override WG: u32 = 128u;

var<workgroup> partial: array<f32, WG>;

// The sum of every invocation's `v` (all invocations must call it).
fn workgroup_sum(v: f32, tid: u32) -> f32 {
  partial[tid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (tid < stride) {
      partial[tid] += partial[tid + stride];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * groups.x;
  // Uniform control flow: the whole workgroup leaves together.
  if (row >= params.rows) {
    return;
  }
  let n4 = params.dim / 4u;
  let base = row * n4;
  var sum = 0.0;
  for (var i = tid; i < n4; i += WG) {
    let v = unpack4(x[base + i]);
    sum += (v.x + v.y) + (v.z + v.w);
  }
  let mean = workgroup_sum(sum, tid) / f32(params.dim);
  var squares = 0.0;
  for (var i = tid; i < n4; i += WG) {
    let d = unpack4(x[base + i]) - mean;
    squares += dot(d, d);
  }
  let inv = inverseSqrt(workgroup_sum(squares, tid) / f32(params.dim) + params.eps);
  for (var i = tid; i < n4; i += WG) {
    let d = unpack4(x[base + i]) - mean;
    y[base + i] = pack4(d * inv * unpack4(gamma[i]) + unpack4(beta[i]));
  }
}
