// add — the residual add in place: y[i] = y[i] + x[i], for i < n.
// (The int4 GEMV's main_add epilogue and rms-norm's main_residual fuse this; this kernel serves the rest.)
//
// Bindings
//   0 params  uniform { n, _, _, _ }
//   1 x       storage read f32 [n]
//   2 y       storage read_write f32 [n]
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups (linear id = wid.x + wid.y · num_workgroups.x).
// Precision: f32 (one rounding).

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i < params.n) {
    y[i] = y[i] + x[i];
  }
}
