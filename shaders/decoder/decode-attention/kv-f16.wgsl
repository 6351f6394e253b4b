// KV-cache prelude of decode-attention.wgsl: f16 caches (q4f16 packages; the buffers onnxruntime's f16 decoder
// graph reads and writes) as little-endian pairs in u32 words (element 2i in the low half), EIGHT elements per
// KvWord (16 bytes: as wide as the f32 prelude's vec4, so a row of the same head takes half the loads — with four
// elements per word the f16 kernel issued as many loads as the f32 one for half the bytes and ran 12 % slower on the
// H200, run 7). Needs head_dim % 8 = 0 (kv-f16-narrow.wgsl otherwise) and no `shader-f16` feature: elements are
// widened to f32 on load (exact) and rounded to f16 on store; all arithmetic is f32.

alias KvWord = vec4<u32>;
const KV_VEC4S: u32 = 2u;

// Elements 4i .. 4i + 3 of the word (i = 0 or 1, a constant at every call).
fn kv_unpack(w: KvWord, i: u32) -> vec4<f32> {
  if (i == 0u) {
    return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
  }
  return vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
}

fn kv_pack(a: vec4<f32>, b: vec4<f32>) -> KvWord {
  return vec4<u32>(pack2x16float(a.xy), pack2x16float(a.zw), pack2x16float(b.xy), pack2x16float(b.zw));
}
