// vision-attention — Qwen2-VL vision-tower self-attention: 2-D RoPE on q and k, then non-causal softmax
// attention that is block-diagonal over images (patches attend only to patches of the same image).
//
// This file is the kernel body. It is compiled after one of two storage preludes, which declare bindings 1 and 5,
// `load_qkv(i) -> vec4<f32>` / `store_out(i, vec4<f32>)` for vec4 index i, and the stored form of one vec4
// (`alias QkvWord`, `unpack_qkv(QkvWord) -> vec4<f32>`):
//   io-f32.wgsl  qkv and out are f32 (array<vec4<f32>>)
//   io-f16.wgsl  qkv and out are f16 packed in pairs (array<vec2<u32>>, unpack2x16float / pack2x16float): half
//                the bytes, no `shader-f16` feature needed; math stays f32.
// Bindings
//   0 params      uniform { heads, head_dim, images, total_tiles }
//   1 qkv         storage read (prelude's element type): the qkv Linear's output [rows, 3, heads, head_dim]
//                 row-major, i.e. row r holds q | k | v, each heads × head_dim; element (r, part, h, d) at
//                 r·3·heads·head_dim + part·heads·head_dim + h·head_dim + d (read as vec4: d / 4)
//   2 cos_tab     storage read  vec4<f32>: [rows, head_dim / 2] cos of each rotation pair's angle
//   3 sin_tab     storage read  vec4<f32>: [rows, head_dim / 2] sin (both from src/processor/vision-rotary.ts)
//   4 cu_seqlens  storage read  u32 [images + 1]: prefix sums of patch counts; image b owns rows
//                 [cu_seqlens[b], cu_seqlens[b + 1])
//   5 out         storage read_write (prelude's element type): [rows, heads, head_dim] (heads concatenated, the layout
//                 attn.proj reads)
// Math, per image b, head h, query row i of b (half = head_dim / 2, pair j ↔ j + half, rotate-half):
//   rope(x)[j] = x[j]·cos[r, j] − x[j + half]·sin[r, j];  rope(x)[j + half] = x[j + half]·cos[r, j] + x[j]·sin[r, j]
//   s_ik = rope(q_i) · rope(k_k) / sqrt(head_dim)          for every key row k of the same image
//   out_i = Σ_k softmax_k(s_ik) · v_k
// Flash-style: a workgroup owns 4·ROW_GROUPS query rows of one image and one head. It streams the image's keys
// in tiles of TILE_KEYS rows through workgroup memory and keeps an online softmax (running max m, running sum l,
// running unnormalised output), so no score matrix larger than 4·ROW_GROUPS × TILE_KEYS ever exists.
// Scores are kept in the log2 domain (q is pre-scaled by log2(e) / sqrt(head_dim)) so that exp2 is used.
// RoPE is fused into the tile loads (q once per workgroup, k for every key tile): no extra pass over q/k.
// The next key tile is fetched into registers (as stored words, with its RoPE tables) while the current one is
// scored, and goes to workgroup memory after the tile's last barrier: up to PREFETCH_SLOTS vec4 slots of k and v
// per thread; a tiling with more slots per thread loads the rest when it stores them (not prefetched).
// Threads: ROW_GROUPS × HEAD_VEC4S. Thread (group g, lane) works for the 4 query rows 4g … 4g + 3 at once — their
// scores, maxima, sums and weights are the 4 components of one vec4 — so each k and v vector read from
// workgroup memory feeds 4 rows. It scores keys lane, lane + HEAD_VEC4S, … of each tile and owns output
// elements [4·lane, 4·lane + 4) of its 4 rows. head_dim must be a multiple of 8 (so each half is whole vec4s)
// and at most 4·HEAD_VEC4S; lanes past head_dim / 4 only help with loads.
// (4 rows per thread: bench/BENCH.md "Vision patch attention kernel".)
// Tile sizes: vision-attention-tiling.ts. Dawn zero-initialises workgroup memory, which SwiftShader
// compiles into seconds of unrolled stores per variant: compile each variant once (KernelCache).
// Query tiles never straddle images: image b has ceil(len_b / (4·ROW_GROUPS)) tiles, total_tiles = Σ_b of that.
// Dispatch: total_tiles × heads workgroups, linear id = wid.x + wid.y · num_workgroups.x,
//   head = id / total_tiles, tile = id % total_tiles (neighbouring workgroups share the head's keys in cache).
// Precision: f32 arithmetic and accumulation throughout (f16 only as storage, with the f16 prelude); exp2 of
// non-positive arguments only.

struct Params {
  heads: u32,
  head_dim: u32,
  images: u32,
  total_tiles: u32,
}

override ROW_GROUPS: u32 = 10u;
override TILE_KEYS: u32 = 20u;
override HEAD_VEC4S: u32 = 20u;
// Key rows are K_STRIDE vec4s apart: an odd stride spreads the lanes' reads of different keys over all banks.
override K_STRIDE: u32 = HEAD_VEC4S | 1u;

// Far below any real score but finite, so that (m_old − m_new) never becomes inf − inf.
const NEG_BIG: f32 = -3.0e38;
const LOG2_E: f32 = 1.4426950408889634;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> cos_tab: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> sin_tab: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> cu_seqlens: array<u32>;

// q of the tile's rows, [4·ROW_GROUPS][HEAD_VEC4S].
var<workgroup> q_tile: array<vec4<f32>, 4u * ROW_GROUPS * HEAD_VEC4S>;
var<workgroup> k_tile: array<vec4<f32>, TILE_KEYS * K_STRIDE>;
var<workgroup> v_tile: array<vec4<f32>, TILE_KEYS * HEAD_VEC4S>;
// [ROW_GROUPS][TILE_KEYS]: scores of a group's 4 rows, then (in place, each thread its own keys) their weights.
var<workgroup> s_tile: array<vec4<f32>, ROW_GROUPS * TILE_KEYS>;
// Each thread's max over its own keys of the current tile, for its 4 rows.
var<workgroup> lane_max: array<vec4<f32>, ROW_GROUPS * HEAD_VEC4S>;

// Rotated vec4 `lane` of (row, part, head); part 0 = q, 1 = k.
fn load_rotated(row: u32, part: u32, head: u32, lane: u32) -> vec4<f32> {
  let vec4s = params.head_dim / 4u;
  let half_vec4s = vec4s / 2u;
  let base = (row * 3u + part) * params.heads * vec4s + head * vec4s;
  let x = load_qkv(base + lane);
  if (lane < half_vec4s) {
    let t = row * half_vec4s + lane;
    return x * cos_tab[t] - load_qkv(base + lane + half_vec4s) * sin_tab[t];
  }
  let t = row * half_vec4s + lane - half_vec4s;
  return x * cos_tab[t] + load_qkv(base + lane - half_vec4s) * sin_tab[t];
}

// Key/value vec4 slots each thread prefetches per key tile (slot s of thread t: tile element t + s·threads).
const PREFETCH_SLOTS = 2u;

// One prefetched slot: k's word, its rotation partner's word, the RoPE tables for it, and v's word.
struct KvSlot {
  k: QkvWord,
  partner: QkvWord,
  cos: vec4<f32>,
  sin: vec4<f32>,
  v: QkvWord,
}

// Slot `i` of the key tile starting at key0 (i = key row · HEAD_VEC4S + lane); zeros past the image's keys
// (`keys` of them in this tile) and past head_dim. The partner term's sign is folded into sin.
fn fetch_kv(i: u32, key0: u32, keys: u32, head: u32) -> KvSlot {
  var slot: KvSlot;
  let key_row = i / HEAD_VEC4S;
  let lane = i % HEAD_VEC4S;
  let vec4s = params.head_dim / 4u;
  if (key_row < keys && lane < vec4s) {
    let key = key0 + key_row;
    let half_vec4s = vec4s / 2u;
    let base = (key * 3u + 1u) * params.heads * vec4s + head * vec4s;
    slot.k = qkv[base + lane];
    let first = lane < half_vec4s;
    let pair = select(lane - half_vec4s, lane, first);
    slot.partner = qkv[base + select(lane - half_vec4s, lane + half_vec4s, first)];
    let t = key * half_vec4s + pair;
    slot.cos = cos_tab[t];
    slot.sin = select(sin_tab[t], -sin_tab[t], first);
    slot.v = qkv[base + params.heads * vec4s + lane];
  }
  return slot;
}

// A slot → the k (rotated) and v tiles; an empty slot stores zeros (unpack of zero words is 0).
fn store_kv(i: u32, slot: KvSlot) {
  let k = unpack_qkv(slot.k) * slot.cos + unpack_qkv(slot.partner) * slot.sin;
  k_tile[(i / HEAD_VEC4S) * K_STRIDE + i % HEAD_VEC4S] = k;
  v_tile[i] = unpack_qkv(slot.v);
}

@compute @workgroup_size(ROW_GROUPS * HEAD_VEC4S)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = wid.x + wid.y * nwg.x;
  if (id >= params.total_tiles * params.heads) {
    return;
  }
  let tile_rows = 4u * ROW_GROUPS;
  let head = id / params.total_tiles;
  var tile = id % params.total_tiles;
  // Find the image this query tile belongs to (images are few; every thread does the same short scan).
  var image = 0u;
  for (; image < params.images; image++) {
    let tiles = (cu_seqlens[image + 1u] - cu_seqlens[image] + tile_rows - 1u) / tile_rows;
    if (tile < tiles) {
      break;
    }
    tile -= tiles;
  }
  let seq_start = cu_seqlens[image];
  let seq_end = cu_seqlens[image + 1u];

  let vec4s = params.head_dim / 4u;
  let threads = ROW_GROUPS * HEAD_VEC4S;
  let group = lid / HEAD_VEC4S;
  let lane = lid % HEAD_VEC4S;
  let row0 = seq_start + tile * tile_rows + 4u * group;
  let q_scale = inverseSqrt(f32(params.head_dim)) * LOG2_E;
  for (var i = 0u; i < 4u; i++) {
    var q = vec4<f32>(0.0);
    if (row0 + i < seq_end && lane < vec4s) {
      q = load_rotated(row0 + i, 0u, head, lane) * q_scale;
    }
    q_tile[(4u * group + i) * HEAD_VEC4S + lane] = q;
  }
  let q_base = 4u * group * HEAD_VEC4S;

  // Running state of the 4 rows, one per component.
  var m = vec4<f32>(NEG_BIG);
  var l = vec4<f32>(0.0);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let tile_slots = TILE_KEYS * HEAD_VEC4S;
  // Keys past the block's end are zero (their weights are 0; stale values could be non-finite in theory).
  var slots: array<KvSlot, PREFETCH_SLOTS>;
  for (var s = 0u; s < PREFETCH_SLOTS; s++) {
    slots[s] = fetch_kv(lid + s * threads, seq_start, min(TILE_KEYS, seq_end - seq_start), head);
  }
  for (var key0 = seq_start; key0 < seq_end; key0 += TILE_KEYS) {
    let keys = min(TILE_KEYS, seq_end - key0);
    for (var s = 0u; s < PREFETCH_SLOTS; s++) {
      let i = lid + s * threads;
      if (i < tile_slots) {
        store_kv(i, slots[s]);
      }
    }
    for (var i = lid + PREFETCH_SLOTS * threads; i < tile_slots; i += threads) {
      store_kv(i, fetch_kv(i, key0, keys, head));
    }
    workgroupBarrier();
    // The next tile's words are in flight while this one is scored.
    let next0 = key0 + TILE_KEYS;
    if (next0 < seq_end) {
      for (var s = 0u; s < PREFETCH_SLOTS; s++) {
        slots[s] = fetch_kv(lid + s * threads, next0, min(TILE_KEYS, seq_end - next0), head);
      }
    }

    // Scores of this thread's keys for its 4 rows (log2 domain) and their max. Loops run to the override
    // constants, not to `keys` / head_dim, so the compiler can unroll them: lanes past head_dim hold zeros in
    // q_tile and k_tile, and keys past `keys` (last tile only) get weight 0 below.
    var own_max = vec4<f32>(NEG_BIG);
    for (var j = lane; j < TILE_KEYS; j += HEAD_VEC4S) {
      var s = vec4<f32>(0.0);
      for (var c = 0u; c < HEAD_VEC4S; c++) {
        let k = k_tile[j * K_STRIDE + c];
        s += vec4<f32>(dot(q_tile[q_base + c], k), dot(q_tile[q_base + HEAD_VEC4S + c], k),
                       dot(q_tile[q_base + 2u * HEAD_VEC4S + c], k), dot(q_tile[q_base + 3u * HEAD_VEC4S + c], k));
      }
      s_tile[group * TILE_KEYS + j] = s;
      if (j < keys) {
        own_max = max(own_max, s);
      }
    }
    lane_max[lid] = own_max;
    workgroupBarrier();

    // New running max of the rows; each thread turns only its own keys' scores into weights.
    var m_new = m;
    for (var c = 0u; c < HEAD_VEC4S; c++) {
      m_new = max(m_new, lane_max[group * HEAD_VEC4S + c]);
    }
    for (var j = lane; j < TILE_KEYS; j += HEAD_VEC4S) {
      s_tile[group * TILE_KEYS + j] = select(vec4<f32>(0.0), exp2(s_tile[group * TILE_KEYS + j] - m_new), j < keys);
    }
    workgroupBarrier();

    let alpha = exp2(m - m_new);
    l *= alpha;
    acc0 *= alpha.x;
    acc1 *= alpha.y;
    acc2 *= alpha.z;
    acc3 *= alpha.w;
    for (var j = 0u; j < TILE_KEYS; j++) {
      let p = s_tile[group * TILE_KEYS + j];
      let v = v_tile[j * HEAD_VEC4S + lane];
      l += p;
      acc0 += p.x * v;
      acc1 += p.y * v;
      acc2 += p.z * v;
      acc3 += p.w * v;
    }
    m = m_new;
    // The next tile overwrites k, v, s and lane_max.
    workgroupBarrier();
  }

  if (lane < vec4s) {
    let out_stride = params.heads * vec4s;
    let out_base = head * vec4s + lane;
    if (row0 < seq_end) {
      store_out(row0 * out_stride + out_base, acc0 / l.x);
    }
    if (row0 + 1u < seq_end) {
      store_out((row0 + 1u) * out_stride + out_base, acc1 / l.y);
    }
    if (row0 + 2u < seq_end) {
      store_out((row0 + 2u) * out_stride + out_base, acc2 / l.z);
    }
    if (row0 + 3u < seq_end) {
      store_out((row0 + 3u) * out_stride + out_base, acc3 / l.w);
    }
  }
}
