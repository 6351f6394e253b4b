// KV-cache prelude of decode-attention.wgsl: f32 caches (fp32 and q4f32 packages), one vec4 per KvWord. Compiled
// before the kernel body, which declares k_cache and v_cache as array<KvWord> (indices in vec4s) and converts with
// kv_load / kv_store.

alias KvWord = vec4<f32>;

fn kv_load(w: KvWord) -> vec4<f32> {
  return w;
}

fn kv_store(v: vec4<f32>) -> KvWord {
  return v;
}
