// vision-attention storage prelude: q/k/v and the output in f16, stored as little-endian pairs in u32 words, so
// a vec4 is one vec2<u32> (word 0 = elements 0 | 1 << 16, word 1 = elements 2 | 3 << 16). Halves the bytes moved
// and needs no `shader-f16` feature: values are widened to f32 on load and rounded to f16 (nearest) on store.
// Compiled before vision-attention.wgsl (see its header); indices are in vec4s.

@group(0) @binding(1) var<storage, read> qkv: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec2<u32>>;

// One vec4 as stored; the kernel keeps prefetched key/value tiles in this form until they go to workgroup memory.
alias QkvWord = vec2<u32>;

fn unpack_qkv(words: QkvWord) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(words.x), unpack2x16float(words.y));
}

fn load_qkv(index: u32) -> vec4<f32> {
  return unpack_qkv(qkv[index]);
}

fn store_out(index: u32, value: vec4<f32>) {
  out[index] = vec2<u32>(pack2x16float(value.xy), pack2x16float(value.zw));
}
