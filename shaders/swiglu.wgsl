// swiglu — out[i] = silu(gate[i]) · up[i] = gate / (1 + exp(−gate)) · up, for i < n.
// (The int4 GEMV's main_swiglu epilogue fuses this; this kernel serves unfused paths, e.g. f32 weights.)
//
// Bindings
//   0 params  uniform { n, gate_offset, up_offset, _ }
//   1 gate_up storage read f32: gate at gate_offset, up at up_offset (one buffer, e.g. a packed [2n] output)
//   2 out     storage read_write f32 [n]
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups (linear id = wid.x + wid.y · num_workgroups.x).
// Precision: f32.

struct Params {
  n: u32,
  gate_offset: u32,
  up_offset: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gate_up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i < params.n) {
    let g = gate_up[params.gate_offset + i];
    out[i] = g / (1.0 + exp(-g)) * gate_up[params.up_offset + i];
  }
}
