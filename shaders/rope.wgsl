// rope — Llama rotary embedding for ONE decode token at position p, fused with the KV-cache append.
//
// Bindings
//   0 params   uniform { heads, kv_heads, head_dim, max_len, q_offset, k_offset, v_offset, _ }
//   1 step     uniform { position }                       p, the token's position (row of the cache)
//   2 qkv      storage read_write f32                     q at q_offset [heads, head_dim] (rotated in place),
//                                                         k at k_offset and v at v_offset [kv_heads, head_dim]
//   3 k_cache  storage read_write f32 [kv_heads, max_len, head_dim]   BNSH, keys after RoPE
//   4 v_cache  storage read_write f32 [kv_heads, max_len, head_dim]
//   5 cos_tab  storage read f32 [max_len, head_dim / 2]   cos(p · inv_freq[i]) (llama-rope-table.ts)
//   6 sin_tab  storage read f32 [max_len, head_dim / 2]
// Math (rotate-half; i < half pairs with i + half):
//   x'[i]        = x[i]        · cos[p, i] - x[i + half] · sin[p, i]
//   x'[i + half] = x[i + half] · cos[p, i] + x[i]        · sin[p, i]
//   q ← rope(q) in place;  k_cache[h, p, :] = rope(k[h]);  v_cache[h, p, :] = v[h]
// Dispatch: one invocation per (head slot, pair), head slots 0..heads-1 are q, heads.. heads+kv_heads-1 are k
//   (those also copy v's two elements); ceil((heads + kv_heads) · half / WORKGROUP_SIZE) workgroups along x.
// Precision: f32; the table carries HF's f32 angle (see llama-rope-table.ts), so this matches HF to ~1 ulp.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  max_len: u32,
  q_offset: u32,
  k_offset: u32,
  v_offset: u32,
  _pad: u32,
}

struct Step {
  position: u32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(5) var<storage, read> cos_tab: array<f32>;
@group(0) @binding(6) var<storage, read> sin_tab: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let half = params.head_dim / 2u;
  let slot = gid.x / half;
  let i = gid.x % half;
  let p = step.position;
  if (slot >= params.heads + params.kv_heads || p >= params.max_len) {
    return;
  }
  let c = cos_tab[p * half + i];
  let s = sin_tab[p * half + i];
  if (slot < params.heads) {
    let base = params.q_offset + slot * params.head_dim;
    let a = qkv[base + i];
    let b = qkv[base + i + half];
    qkv[base + i] = a * c - b * s;
    qkv[base + i + half] = b * c + a * s;
  } else {
    let h = slot - params.heads;
    let src = params.k_offset + h * params.head_dim;
    let a = qkv[src + i];
    let b = qkv[src + i + half];
    let dst = (h * params.max_len + p) * params.head_dim;
    k_cache[dst + i] = a * c - b * s;
    k_cache[dst + i + half] = b * c + a * s;
    let vsrc = params.v_offset + h * params.head_dim;
    v_cache[dst + i] = qkv[vsrc + i];
    v_cache[dst + i + half] = qkv[vsrc + i + half];
  }
}
