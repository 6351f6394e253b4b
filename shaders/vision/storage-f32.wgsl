// Storage prelude of the vision dense kernels (linear/vision-linear.wgsl, layer-norm/vision-layer-norm.wgsl):
// activations and weights in f32. Compiled before the kernel body, which declares its bindings as
// array<Vec4Storage> and converts with unpack4 / pack4 (indices are in vec4s).

alias Vec4Storage = vec4<f32>;

fn unpack4(v: Vec4Storage) -> vec4<f32> {
  return v;
}

fn pack4(v: vec4<f32>) -> Vec4Storage {
  return v;
}
