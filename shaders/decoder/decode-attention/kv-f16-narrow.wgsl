// KV-cache prelude of decode-attention.wgsl: f16 caches whose head_dim is a multiple of 4 but not of 8, four
// elements per KvWord (two u32 words, element 2i in the low half). See kv-f16.wgsl, the prelude for head_dim % 8 = 0.

alias KvWord = vec2<u32>;
const KV_VEC4S: u32 = 1u;

fn kv_unpack(w: KvWord, i: u32) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn kv_pack(a: vec4<f32>, b: vec4<f32>) -> KvWord {
  return vec2<u32>(pack2x16float(a.xy), pack2x16float(a.zw));
}
