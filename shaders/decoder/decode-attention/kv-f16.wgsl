// KV-cache prelude of decode-attention.wgsl: f16 caches (q4f16 packages; the buffers onnxruntime's f16 decoder
// graph reads and writes), four elements per KvWord as little-endian pairs in u32 words (word 0 = elements
// 0 | 1 << 16, word 1 = elements 2 | 3 << 16). Needs no `shader-f16` feature: rows are widened to f32 on load
// (exact) and rounded to f16 on store; all arithmetic is f32.

alias KvWord = vec2<u32>;

fn kv_load(w: KvWord) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn kv_store(v: vec4<f32>) -> KvWord {
  return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));
}
