// fill-ramp — writes out[i] = start + step * f32(i) for i < count.
// A diagnostic kernel: the interop check uses it to produce an input for onnxruntime-web on the GPU.
// Bindings: 0 params uniform { count: u32, start: f32, step: f32 }, 1 out storage f32 [count].
// Dispatch: ceil(count / WORKGROUP_SIZE) workgroups along x.

struct Params {
  count: u32,
  start: f32,
  step: f32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < params.count) {
    out[gid.x] = params.start + params.step * f32(gid.x);
  }
}
