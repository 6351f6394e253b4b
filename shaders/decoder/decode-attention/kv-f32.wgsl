// KV-cache prelude of decode-attention.wgsl: f32 caches (fp32 and q4f32 packages), one head unit (HVec of the
// head-unit prelude: vec4 or vec2) per KvWord. Compiled after the head-unit prelude and before the kernel body,
// which declares k_cache and v_cache as array<KvWord> (indices in units) and converts with kv_load / kv_store.

alias KvWord = HVec;

fn kv_load(w: KvWord) -> HVec {
  return w;
}

fn kv_store(v: HVec) -> KvWord {
  return v;
}
