// scale-shift — out[i] = scale * x[i] + shift for i < count.
// A diagnostic kernel: the interop check reads onnxruntime-web's GPU output with it.
// Bindings: 0 params uniform { count: u32, scale: f32, shift: f32 }, 1 x storage read f32, 2 out storage f32.
// Dispatch: ceil(count / WORKGROUP_SIZE) workgroups along x.

struct Params {
  count: u32,
  scale: f32,
  shift: f32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < params.count) {
    out[gid.x] = params.scale * x[gid.x] + params.shift;
  }
}
