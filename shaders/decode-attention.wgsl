// decode-attention — pass 1 of split-K attention for ONE query token over the static KV cache.
//
// Bindings
//   0 params    uniform { heads, kv_heads, head_dim, max_len, q_offset, max_chunks, scale: f32, _ }
//   1 step      uniform { position }                    the query's position p; keys 0..p are attended
//   2 q         storage read f32, q[h] at q_offset + h · head_dim (after RoPE)
//   3 k_cache   storage read vec4<f32> [kv_heads, max_len, head_dim / 4] (BNSH, keys after RoPE; head_dim % 4 = 0)
//   4 v_cache   storage read f32 [kv_heads, max_len, head_dim]
//   5 partials  storage read_write f32 [heads, max_chunks, head_dim + 2]: o (unnormalized), m, l
// Math, per head h (kv head h / (heads / kv_heads)) and chunk c = positions [c·CHUNK, min((c+1)·CHUNK, p+1)):
//   s_j = scale · q·k_j;  m = max_j s_j;  l = Σ_j exp(s_j − m);  o = Σ_j exp(s_j − m) · v_j
// decode-attention-combine.wgsl then merges the chunks. No causal mask is needed beyond j ≤ p: this is the
// last row of causal attention.
// Dispatch: heads · ceil((p + 1) / CHUNK) workgroups (linear id = wid.x + wid.y · num_workgroups.x;
//   id = h · chunks + c); workgroups past the chunk count return.
// Precision: f32; exp of non-positive arguments only.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  max_len: u32,
  q_offset: u32,
  max_chunks: u32,
  scale: f32,
  _pad: u32,
}

struct Step {
  position: u32,
}

override WORKGROUP_SIZE: u32 = 64u;
override CHUNK: u32 = 64u;
const MAX_HEAD_DIM: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k_cache: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

var<workgroup> q_sh: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
var<workgroup> scores: array<f32, CHUNK>;
var<workgroup> red: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let length = min(step.position, params.max_len - 1u) + 1u;
  let chunks = (length + CHUNK - 1u) / CHUNK;
  let id = wid.x + wid.y * nwg.x;
  if (id >= params.heads * chunks) {
    return;
  }
  let h = id / chunks;
  let c = id % chunks;
  let kvh = h / (params.heads / params.kv_heads);
  let hd = params.head_dim;
  let start = c * CHUNK;
  let count = min(CHUNK, length - start);

  let hd4 = hd / 4u;
  for (var d4 = lid; d4 < hd4; d4 += WORKGROUP_SIZE) {
    let o = params.q_offset + h * hd + d4 * 4u;
    q_sh[d4] = vec4<f32>(q[o], q[o + 1u], q[o + 2u], q[o + 3u]);
  }
  workgroupBarrier();

  // Scores: one position per invocation at a time, the dot product over the head dimension.
  var local_max = -3.4e38;
  for (var j = lid; j < count; j += WORKGROUP_SIZE) {
    let base = (kvh * params.max_len + start + j) * hd4;
    var s = 0.0;
    for (var d4 = 0u; d4 < hd4; d4++) {
      s += dot(q_sh[d4], k_cache[base + d4]);
    }
    s *= params.scale;
    scores[j] = s;
    local_max = max(local_max, s);
  }
  red[lid] = local_max;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red[lid] = max(red[lid], red[lid + stride]);
    }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();

  var local_sum = 0.0;
  for (var j = lid; j < count; j += WORKGROUP_SIZE) {
    let e = exp(scores[j] - m);
    scores[j] = e;
    local_sum += e;
  }
  red[lid] = local_sum;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red[lid] += red[lid + stride];
    }
    workgroupBarrier();
  }
  let l = red[0];

  // Output: one dimension per invocation; consecutive invocations read consecutive values of a row.
  let out = (h * params.max_chunks + c) * (hd + 2u);
  for (var d = lid; d < hd; d += WORKGROUP_SIZE) {
    var o = 0.0;
    for (var j = 0u; j < count; j++) {
      o += scores[j] * v_cache[(kvh * params.max_len + start + j) * hd + d];
    }
    partials[out + d] = o;
  }
  if (lid == 0u) {
    partials[out + hd] = m;
    partials[out + hd + 1u] = l;
  }
}
