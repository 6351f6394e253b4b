// KV-cache prelude of decode-attention.wgsl: f16 caches (q4f16 packages; the buffers onnxruntime's f16 decoder
// graph reads and writes), one head unit per KvWord as little-endian f16 pairs in u32 words (HalfUnit of the
// head-unit prelude: word 0 = elements 0 | 1 << 16, word 1 = elements 2 | 3 << 16). Needs no `shader-f16` feature:
// rows are widened to f32 on load (exact) and rounded to f16 on store; all arithmetic is f32.

alias KvWord = HalfUnit;

fn kv_load(w: KvWord) -> HVec {
  return unpack_half_unit(w);
}

fn kv_store(v: HVec) -> KvWord {
  return pack_half_unit(v);
}
