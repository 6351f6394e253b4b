// KV-cache prelude of decode-attention.wgsl: f32 caches (fp32 and q4f32 packages), one vec4 per KvWord. Compiled
// before the kernel body, which declares k_cache and v_cache as array<KvWord> (a row is HEAD_DIM_4 / KV_VEC4S
// words) and converts with kv_unpack / kv_pack.

alias KvWord = vec4<f32>;
const KV_VEC4S: u32 = 1u;

fn kv_unpack(w: KvWord, i: u32) -> vec4<f32> {
  return w;
}

fn kv_pack(a: vec4<f32>, b: vec4<f32>) -> KvWord {
  return a;
}
