// decode-attention-fixed — pass 1 of the earlier split-K decode attention (fixed 64-position chunks; the bench baseline).
//
// Bindings
//   0 params    uniform { heads, kv_heads, head_dim, max_len, q_offset, max_chunks, scale: f32, _ }
//   1 step      uniform { position }                    the query's position p; keys 0..p are attended
//   2 q         storage read f32, q[h] at q_offset + h · head_dim (after RoPE)
//   3 k_cache   storage read vec4<f32> [kv_heads, max_len, head_dim / 4] (BNSH, keys after RoPE; head_dim % 4 = 0)
//   4 v_cache   storage read vec4<f32> [kv_heads, max_len, head_dim / 4]
//   5 partials  storage read_write f32 [heads, max_chunks, head_dim + 2]: o (unnormalized), m, l
// Math, per head h (kv head h / (heads / kv_heads)) and chunk c = positions [c·CHUNK, min((c+1)·CHUNK, p+1)):
//   s_j = scale · q·k_j;  m = max_j s_j;  l = Σ_j exp(s_j − m);  o = Σ_j exp(s_j − m) · v_j
// decode-attention-combine.wgsl then merges the chunks. No causal mask is needed beyond j ≤ p: this is the
// last row of causal attention.
// Dispatch: heads · ceil((p + 1) / CHUNK) workgroups (linear id = wid.x + wid.y · num_workgroups.x;
//   id = h · chunks + c); workgroups past the chunk count return.
// Work split: LANES (4) invocations per position for the scores; for the output, WORKGROUP_SIZE / (head_dim / 4)
//   groups of invocations each sum every groups-th position for one vec4 of the head, then the groups are added.
//   Short per-invocation chains keep many loads in flight (decode attention is latency-bound at short contexts).
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

override WORKGROUP_SIZE: u32 = 128u;
override CHUNK: u32 = 64u;
// Invocations that share one position's dot product (each sums head_dim / 4 / LANES vec4s).
const LANES: u32 = 4u;
const MAX_HEAD_DIM: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k_cache: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v_cache: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

var<workgroup> q_sh: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
var<workgroup> scores: array<f32, CHUNK>;
var<workgroup> lane_sums: array<f32, WORKGROUP_SIZE>;
var<workgroup> red: array<f32, WORKGROUP_SIZE>;
var<workgroup> out_sh: array<vec4<f32>, WORKGROUP_SIZE>;

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
  let hd4 = hd / 4u;
  let start = c * CHUNK;
  let count = min(CHUNK, length - start);
  let row0 = kvh * params.max_len + start;

  for (var d4 = lid; d4 < hd4; d4 += WORKGROUP_SIZE) {
    let o = params.q_offset + h * hd + d4 * 4u;
    q_sh[d4] = vec4<f32>(q[o], q[o + 1u], q[o + 2u], q[o + 3u]);
  }
  workgroupBarrier();

  // Scores: LANES invocations per position, each over a strided quarter of the head's vec4s.
  let lane = lid % LANES;
  let per_pass = WORKGROUP_SIZE / LANES;
  for (var j0 = 0u; j0 < CHUNK; j0 += per_pass) {
    let j = j0 + lid / LANES;
    var s = 0.0;
    if (j < count) {
      let base = (row0 + j) * hd4;
      for (var d4 = lane; d4 < hd4; d4 += LANES) {
        s += dot(q_sh[d4], k_cache[base + d4]);
      }
    }
    lane_sums[lid] = s;
    workgroupBarrier();
    if (lane == 0u && j < count) {
      var total = 0.0;
      for (var l = 0u; l < LANES; l++) {
        total += lane_sums[lid + l];
      }
      scores[j] = total * params.scale;
    }
    workgroupBarrier();
  }

  var local_max = -3.4e38;
  for (var j = lid; j < count; j += WORKGROUP_SIZE) {
    local_max = max(local_max, scores[j]);
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

  // Output: invocation (group g, vec4 d4) sums positions g, g + groups, …; consecutive invocations read
  // consecutive vec4s of a row. The groups are then summed in workgroup memory in a fixed order.
  let groups = max(1u, WORKGROUP_SIZE / hd4);
  let out = (h * params.max_chunks + c) * (hd + 2u);
  for (var d0 = 0u; d0 < hd4; d0 += WORKGROUP_SIZE) {
    let d4 = d0 + lid % min(hd4, WORKGROUP_SIZE);
    let g = lid / min(hd4, WORKGROUP_SIZE);
    var o = vec4<f32>(0.0);
    if (g < groups && d4 < hd4) {
      for (var j = g; j < count; j += groups) {
        o += scores[j] * v_cache[(row0 + j) * hd4 + d4];
      }
    }
    out_sh[lid] = o;
    workgroupBarrier();
    if (g == 0u && d4 < hd4) {
      var total = vec4<f32>(0.0);
      for (var gg = 0u; gg < groups; gg++) {
        total += out_sh[lid + gg * min(hd4, WORKGROUP_SIZE)];
      }
      let o4 = out + d4 * 4u;
      partials[o4] = total.x;
      partials[o4 + 1u] = total.y;
      partials[o4 + 2u] = total.z;
      partials[o4 + 3u] = total.w;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    partials[out + hd] = m;
    partials[out + hd + 1u] = l;
  }
}
