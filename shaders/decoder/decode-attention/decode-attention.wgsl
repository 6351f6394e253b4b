// decode-attention — attention for ONE query token over the static KV cache, with the token's RoPE and KV-cache
// append fused in front and the split-K chunk merge done inside the same dispatch (one dispatch per layer).
// Compiled after a KV-cache prelude (kv-f32.wgsl, kv-f16.wgsl) that defines KvWord, kv_load and kv_store.
//
// Bindings
//   0 params    uniform Params
//   1 step      uniform Step { position }            the query's position p; keys 0..p are attended
//   2 qkv       storage read f32: this token's q, k, v before RoPE (the packed output of the qkv GEMV): q[h] at
//               q_offset + h · head_dim, k[g] at k_offset + g · head_dim, v[g] at v_offset + g · head_dim
//   3 k_cache   storage read_write KvWord [kv_heads, max_len, head_dim / 4] (BNSH, keys after RoPE; head_dim % 4 = 0):
//               f32 or f16 elements per the prelude, four per KvWord
//   4 v_cache   storage read_write KvWord [kv_heads, max_len, head_dim / 4]
//   5 partials  storage read_write atomic<u32> (f32 bits) [heads, max_chunks, head_dim + 2]: o (unnormalized), m, l;
//               then heads u32 counters (zero between dispatches)
//   6 cos_tab   storage read f32 [max_len, head_dim / 2]   cos(p · inv_freq[i]) (llama-rope-table.ts)
//   7 sin_tab   storage read f32 [max_len, head_dim / 2]
//   8 out       storage read_write f32, out[h] at out_offset + h · head_dim
// RoPE + append (p < max_len; HF rotate_half: i < half pairs with i + half):
//   x'[i] = x[i] · cos[p, i] − x[i + half] · sin[p, i];  x'[i + half] = x[i + half] · cos[p, i] + x[i] · sin[p, i].
//   q is rotated while it is loaded; the workgroups whose chunk holds p rotate k[kv head] and use it and v[kv head]
//   from the qkv buffer for row p, and the first query head of each kv head writes them to row p of the caches (no
//   workgroup of this dispatch reads row p from the caches). So this step attends row p in f32 even over an f16
//   cache, which keeps it rounded to f16 for the later steps. At p ≥ max_len nothing is rotated or written.
// Math, per head h (kv head h / (heads / kv_heads)) and chunk c = positions [c·L, min((c+1)·L, p+1)) with
//   L = ceil((p + 1) / chunks):
//   s_j = scale · q·k_j;  m = max_j s_j;  l = Σ_j exp(s_j − m);  o = Σ_j exp(s_j − m) · v_j
//   Merge: M = max_c m_c;  w_c = exp(m_c − M);  out[h, d] = Σ_c w_c · o_c[d] / Σ_c w_c · l_c.
//   No causal mask is needed beyond j ≤ p: this is the last row of causal attention.
// Cross-workgroup hand-off: the partials are written and read with atomics only (performed at the device's
//   coherence point, never served from a stale per-core cache), then a storage barrier, then one atomicAdd on the
//   head's counter; the workgroup that sees chunks − 1 merges and resets the counter for the next step. With one
//   chunk the workgroup writes the output directly. (WGSL atomics are relaxed; the usual "last block" reduction.)
// Dispatch: (chunks, heads) workgroups — wid.x the chunk, wid.y the head; chunks · MAX_CHUNK ≥ p + 1 and
//   chunks ≤ max_chunks (the host's chooseAttentionChunks).
// Work split: LANES invocations per position for the scores (each over a strided slice of the head, so one load
//   instruction of LANES invocations reads LANES consecutive vec4s of a key), four positions per invocation per
//   step so all their loads are in flight (HEAD_DIM_4 = head_dim / 4 is an override, so these loops have constant
//   trip counts); for the output, WORKGROUP_SIZE / (head_dim / 4) groups each sum every groups-th position for one
//   vec4 of the head, then the groups are added. The first VPRE value rows of each group are loaded at the start,
//   alongside the keys, so a short chunk costs about one memory round trip. The merge splits the same way over chunks.
// Precision: f32 arithmetic; exp of non-positive arguments only. The RoPE tables carry HF's f32 angle (~1 ulp from
//   HF). With f16 caches each stored key and value element is rounded once to f16 (relative error ≤ 2^-11).

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  max_len: u32,
  q_offset: u32,
  max_chunks: u32,
  scale: f32,
  k_offset: u32,
  v_offset: u32,
  out_offset: u32,
  _pad1: u32,
  _pad2: u32,
}

struct Step {
  position: u32,
}

override WORKGROUP_SIZE: u32 = 128u;
override HEAD_DIM_4: u32 = 32u; // head_dim / 4 (≤ 64)
const LANES: u32 = 8u;
const MAX_CHUNK: u32 = 256u;
const MAX_HEAD_DIM: u32 = 256u;
const VPRE: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> k_cache: array<KvWord>;
@group(0) @binding(4) var<storage, read_write> v_cache: array<KvWord>;
@group(0) @binding(5) var<storage, read_write> partials: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read> cos_tab: array<f32>;
@group(0) @binding(7) var<storage, read> sin_tab: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

var<workgroup> q_sh: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
var<workgroup> lane_part: array<f32, MAX_CHUNK * LANES>;
var<workgroup> scores: array<f32, MAX_CHUNK>;
var<workgroup> red: array<f32, WORKGROUP_SIZE>;
var<workgroup> out_sh: array<vec4<f32>, WORKGROUP_SIZE>;
// Row p's key (rotated) and value, from the qkv buffer (workgroups whose chunk holds p).
var<workgroup> kp_sh: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
var<workgroup> vp_sh: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
var<workgroup> last_sh: u32;

// q·k for one cache row (or, `local`, row p's key from kp_sh), this lane's slice.
fn key_dot(row: u32, lane: u32, local: bool) -> f32 {
  var s = 0.0;
  for (var i = 0u; i < (HEAD_DIM_4 + LANES - 1u) / LANES; i++) {
    let d4 = lane + i * LANES;
    if (d4 < HEAD_DIM_4) {
      if (local) {
        s += dot(q_sh[d4], kp_sh[d4]);
      } else {
        s += dot(q_sh[d4], kv_load(k_cache[row * HEAD_DIM_4 + d4]));
      }
    }
  }
  return s;
}

// Elements 4·d4 .. 4·d4 + 3 of rope(x) at position p, x the head_dim values at qkv[base ..] (rotate_half).
fn rope_vec4(base: u32, d4: u32, p: u32) -> vec4<f32> {
  let half = HEAD_DIM_4 * 2u;
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    let d = d4 * 4u + e;
    let i = select(d - half, d, d < half);
    let c = cos_tab[p * half + i];
    let s = sin_tab[p * half + i];
    let a = qkv[base + i];
    let b = qkv[base + i + half];
    r[e] = select(b * c + a * s, a * c - b * s, d < half);
  }
  return r;
}

// Value vec4 d4 of chunk row j (row p from vp_sh).
fn value_row(row0: u32, j: u32, d4: u32, has_p: bool, jp: u32) -> vec4<f32> {
  if (has_p && j == jp) {
    return vp_sh[d4];
  }
  return kv_load(v_cache[(row0 + j) * HEAD_DIM_4 + d4]);
}

// Partials words i .. i + 3 as a vec4 (atomic loads: written by other workgroups of this dispatch).
fn partial_vec4(i: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<f32>(atomicLoad(&partials[i])), bitcast<f32>(atomicLoad(&partials[i + 1u])),
                   bitcast<f32>(atomicLoad(&partials[i + 2u])), bitcast<f32>(atomicLoad(&partials[i + 3u])));
}

fn qkv_vec4(base: u32) -> vec4<f32> {
  return vec4<f32>(qkv[base], qkv[base + 1u], qkv[base + 2u], qkv[base + 3u]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let chunks = nwg.x;
  let c = wid.x;
  let h = wid.y;
  let length = min(step.position, params.max_len - 1u) + 1u;
  let chunk_len = (length + chunks - 1u) / chunks;
  let start = c * chunk_len;
  let count = select(0u, min(min(chunk_len, length - start), MAX_CHUNK), start < length);
  let kvh = h / (params.heads / params.kv_heads);
  let hd = HEAD_DIM_4 * 4u;
  let hd4 = HEAD_DIM_4;
  let row0 = kvh * params.max_len + start;
  let p = step.position;
  // This chunk holds p (then at local index p − start) and takes row p from the qkv buffer.
  let has_p = p < params.max_len && p >= start && p < start + count;
  let jp = p - start;

  // Output mapping, needed now for the value prefetch.
  let groups = max(1u, WORKGROUP_SIZE / hd4);
  let g = lid / hd4;
  let d4o = lid % hd4;
  let in_group = g < groups && lid < groups * hd4;
  var vpre: array<vec4<f32>, VPRE>;
  for (var t = 0u; t < VPRE; t++) {
    let j = g + groups * t;
    if (in_group && j < count) {
      if (has_p && j == jp) {
        vpre[t] = qkv_vec4(params.v_offset + kvh * hd + d4o * 4u);
      } else {
        vpre[t] = kv_load(v_cache[(row0 + j) * hd4 + d4o]);
      }
    }
  }

  let rope_q = p < params.max_len;
  for (var d4 = lid; d4 < hd4; d4 += WORKGROUP_SIZE) {
    let o = params.q_offset + h * hd;
    if (rope_q) {
      q_sh[d4] = rope_vec4(o, d4, p) * params.scale;
    } else {
      q_sh[d4] = qkv_vec4(o + d4 * 4u) * params.scale;
    }
    if (has_p) {
      let kp = rope_vec4(params.k_offset + kvh * hd, d4, p);
      let vp = qkv_vec4(params.v_offset + kvh * hd + d4 * 4u);
      kp_sh[d4] = kp;
      vp_sh[d4] = vp;
      if (h % (params.heads / params.kv_heads) == 0u) {
        k_cache[(kvh * params.max_len + p) * hd4 + d4] = kv_store(kp);
        v_cache[(kvh * params.max_len + p) * hd4 + d4] = kv_store(vp);
      }
    }
  }
  workgroupBarrier();

  // Scores, partial per lane: positions j + t · per_pass, t < 4, per step.
  let lane = lid % LANES;
  let per_pass = WORKGROUP_SIZE / LANES;
  for (var j0 = 0u; j0 < count; j0 += 4u * per_pass) {
    let j = j0 + lid / LANES;
    var sv = vec4<f32>(0.0);
    for (var t = 0u; t < 4u; t++) {
      if (j + t * per_pass < count) {
        sv[t] = key_dot(row0 + j + t * per_pass, lane, has_p && j + t * per_pass == jp);
      }
    }
    for (var t = 0u; t < 4u; t++) {
      if (j + t * per_pass < count) {
        lane_part[(j + t * per_pass) * LANES + lane] = sv[t];
      }
    }
  }
  workgroupBarrier();

  var local_max = -3.4e38;
  for (var j = lid; j < count; j += WORKGROUP_SIZE) {
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) {
      s += lane_part[j * LANES + l];
    }
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

  // Output: invocation (group g, vec4 d4o) sums positions g, g + groups, …; the prefetched rows first.
  var o = vec4<f32>(0.0);
  if (in_group) {
    for (var t = 0u; t < VPRE; t++) {
      let j = g + groups * t;
      if (j < count) {
        o += scores[j] * vpre[t];
      }
    }
    // The rest four rows at a time, all four loads issued before their FMAs.
    var j = g + groups * VPRE;
    for (; j + 3u * groups < count; j += 4u * groups) {
      let v0 = value_row(row0, j, d4o, has_p, jp);
      let v1 = value_row(row0, j + groups, d4o, has_p, jp);
      let v2 = value_row(row0, j + 2u * groups, d4o, has_p, jp);
      let v3 = value_row(row0, j + 3u * groups, d4o, has_p, jp);
      o += scores[j] * v0 + scores[j + groups] * v1 + scores[j + 2u * groups] * v2 + scores[j + 3u * groups] * v3;
    }
    for (; j < count; j += groups) {
      o += scores[j] * value_row(row0, j, d4o, has_p, jp);
    }
  }
  out_sh[lid] = o;
  workgroupBarrier();
  // One chunk: nothing to merge.
  if (chunks == 1u) {
    if (in_group && g == 0u) {
      var total = vec4<f32>(0.0);
      for (var gg = 0u; gg < groups; gg++) {
        total += out_sh[lid + gg * hd4];
      }
      let o4 = params.out_offset + h * hd + d4o * 4u;
      let r = total / l;
      out[o4] = r.x;
      out[o4 + 1u] = r.y;
      out[o4 + 2u] = r.z;
      out[o4 + 3u] = r.w;
    }
    return;
  }
  let stride = hd + 2u;
  let base = h * params.max_chunks * stride;
  let slot = base + c * stride;
  if (in_group && g == 0u) {
    var total = vec4<f32>(0.0);
    for (var gg = 0u; gg < groups; gg++) {
      total += out_sh[lid + gg * hd4];
    }
    let o4 = slot + d4o * 4u;
    atomicStore(&partials[o4], bitcast<u32>(total.x));
    atomicStore(&partials[o4 + 1u], bitcast<u32>(total.y));
    atomicStore(&partials[o4 + 2u], bitcast<u32>(total.z));
    atomicStore(&partials[o4 + 3u], bitcast<u32>(total.w));
  }
  if (lid == 0u) {
    atomicStore(&partials[slot + hd], bitcast<u32>(m));
    atomicStore(&partials[slot + hd + 1u], bitcast<u32>(l));
  }
  storageBarrier();
  let counter = params.heads * params.max_chunks * stride + h;
  if (lid == 0u) {
    let arrived = atomicAdd(&partials[counter], 1u);
    last_sh = select(0u, 1u, arrived == chunks - 1u);
  }
  if (workgroupUniformLoad(&last_sh) == 0u) {
    return;
  }
  // Last workgroup of head h: reset the counter for the next step, then merge the chunks.
  if (lid == 0u) {
    atomicStore(&partials[counter], 0u);
  }
  var cmax = -3.4e38;
  for (var cc = lid; cc < chunks; cc += WORKGROUP_SIZE) {
    let mc = bitcast<f32>(atomicLoad(&partials[base + cc * stride + hd]));
    scores[cc] = mc;
    cmax = max(cmax, mc);
  }
  red[lid] = cmax;
  workgroupBarrier();
  for (var s = WORKGROUP_SIZE / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let big_m = red[0];
  workgroupBarrier();
  var csum = 0.0;
  for (var cc = lid; cc < chunks; cc += WORKGROUP_SIZE) {
    let w = exp(scores[cc] - big_m);
    scores[cc] = w;
    csum += w * bitcast<f32>(atomicLoad(&partials[base + cc * stride + hd + 1u]));
  }
  red[lid] = csum;
  workgroupBarrier();
  for (var s = WORKGROUP_SIZE / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let big_l = red[0];
  // Output: invocation (group g, vec4 d4o) sums chunks g, g + groups, …; then the groups are added in order.
  var acc = vec4<f32>(0.0);
  if (in_group) {
    // Four chunks per step, all sixteen loads issued before their FMAs (the merge is one workgroup's latency).
    var cc = g;
    for (; cc + 3u * groups < chunks; cc += 4u * groups) {
      let v0 = partial_vec4(base + cc * stride + d4o * 4u);
      let v1 = partial_vec4(base + (cc + groups) * stride + d4o * 4u);
      let v2 = partial_vec4(base + (cc + 2u * groups) * stride + d4o * 4u);
      let v3 = partial_vec4(base + (cc + 3u * groups) * stride + d4o * 4u);
      acc += scores[cc] * v0 + scores[cc + groups] * v1 + scores[cc + 2u * groups] * v2 + scores[cc + 3u * groups] * v3;
    }
    for (; cc < chunks; cc += groups) {
      acc += scores[cc] * partial_vec4(base + cc * stride + d4o * 4u);
    }
  }
  workgroupBarrier();
  out_sh[lid] = acc;
  workgroupBarrier();
  if (in_group && g == 0u) {
    var total = vec4<f32>(0.0);
    for (var gg = 0u; gg < groups; gg++) {
      total += out_sh[lid + gg * hd4];
    }
    let o4 = params.out_offset + h * hd + d4o * 4u;
    let r = total / big_l;
    out[o4] = r.x;
    out[o4 + 1u] = r.y;
    out[o4 + 2u] = r.z;
    out[o4 + 3u] = r.w;
  }
}
