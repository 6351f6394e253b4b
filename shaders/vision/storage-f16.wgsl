// Storage prelude of the vision dense kernels (linear/vision-linear.wgsl, layer-norm/vision-layer-norm.wgsl):
// activations and weights in f16, stored as little-endian pairs in u32 words, so a vec4 is one vec2<u32>. Needs
// no `shader-f16` feature: values are widened to f32 on load and rounded to f16 (nearest) on store; all
// arithmetic is f32.

alias Vec4Storage = vec2<u32>;

fn unpack4(v: Vec4Storage) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y));
}

fn pack4(v: vec4<f32>) -> Vec4Storage {
  return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));
}
