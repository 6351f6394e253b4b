// sample-token — picks the next token from the logits over the full vocabulary, in ONE workgroup per draw.
//
// Bindings
//   0 params  uniform { vocab, top_k, seed, step, inv_temperature: f32, top_p: f32, greedy, _ }
//   1 logits  storage read f32 [vocab]   (after sample-penalty.wgsl, if a repetition penalty is used)
//   2 out     storage read_write u32 [draws]   out[draw] = the token id
// Math (HF's order: temperature → top-k → top-p → softmax → multinomial), s_i = logits[i] · inv_temperature:
//   greedy:  out = argmax_i logits[i] (the first index on ties, as torch.argmax)
//   top-k:   keep s_i ≥ the k-th largest s (ties kept, as HF's TopKLogitsWarper); top_k = 0: off
//   top-p:   within that, keep i iff the probability mass of tokens with s > s_i is < top_p (HF's TopPLogitsWarper;
//            the top token is always kept); top_p = 1: off
//   draw:    u = PCG(seed, step + draw) in [0, 1) (24 bits); the first index i (in index order) whose cumulative
//            kept mass exceeds u · Σ kept mass.
//   Thresholds are found exactly by bisection on the order-preserving u32 key of s (32 passes each for top-k and
//   top-p), so no sort and no candidate cap: the whole vocabulary takes part.
// Dispatch: `draws` workgroups along x (1 when decoding; many in the statistical test), draw = wid.x.
// Precision: f32; exp(s − max) ≤ 1; sums by a fixed-order tree, so a draw is deterministic for (seed, step).
//   Logits are expected finite or −inf (NaN is not handled).

struct Params {
  vocab: u32,
  top_k: u32,
  seed: u32,
  step: u32,
  inv_temperature: f32,
  top_p: f32,
  greedy: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 256u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> red_f: array<f32, WORKGROUP_SIZE>;
var<workgroup> red_i: array<u32, WORKGROUP_SIZE>;
var<workgroup> prefix: array<f32, WORKGROUP_SIZE>;
var<workgroup> total: f32;
var<workgroup> chosen: atomic<u32>;
var<workgroup> last_kept: atomic<u32>;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// Monotone map f32 → u32: a < b ⇔ key(a) < key(b) (−0 and +0 differ by one step; harmless).
fn order_key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red_f[lid] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red_f[lid] += red_f[lid + stride];
    }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&red_f[0]);
}

fn reduce_max(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red_f[lid] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red_f[lid] = max(red_f[lid], red_f[lid + stride]);
    }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&red_f[0]);
}

fn score(i: u32) -> f32 {
  return logits[i] * params.inv_temperature;
}

// Number of tokens with key ≥ t.
fn count_at_least(t: u32, lid: u32) -> f32 {
  var c = 0.0;
  for (var i = lid; i < params.vocab; i += WORKGROUP_SIZE) {
    c += select(0.0, 1.0, order_key(score(i)) >= t);
  }
  return reduce_sum(c, lid);
}

// Unnormalized mass exp(s − m) of tokens with key > t and key ≥ floor_key.
fn mass_above(t: u32, floor_key: u32, m: f32, lid: u32) -> f32 {
  var z = 0.0;
  for (var i = lid; i < params.vocab; i += WORKGROUP_SIZE) {
    let s = score(i);
    let k = order_key(s);
    z += select(0.0, exp(s - m), k > t && k >= floor_key);
  }
  return reduce_sum(z, lid);
}

fn argmax(draw: u32, lid: u32) {
  var best = -3.4e38;
  var best_i = NONE;
  for (var i = lid; i < params.vocab; i += WORKGROUP_SIZE) {
    let v = logits[i];
    if (best_i == NONE || v > best) {
      best = v;
      best_i = i;
    }
  }
  red_f[lid] = best;
  red_i[lid] = best_i;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let v = red_f[lid + stride];
      let j = red_i[lid + stride];
      let better = j != NONE && (red_i[lid] == NONE || v > red_f[lid] || (v == red_f[lid] && j < red_i[lid]));
      if (better) {
        red_f[lid] = v;
        red_i[lid] = j;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[draw] = red_i[0];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let draw = wid.x;
  if (params.greedy != 0u) {
    argmax(draw, lid);
    return;
  }
  let vocab = params.vocab;

  var local_max = -3.4e38;
  for (var i = lid; i < vocab; i += WORKGROUP_SIZE) {
    local_max = max(local_max, score(i));
  }
  let m = reduce_max(local_max, lid);

  // top-k: the largest key t with count(key ≥ t) ≥ k, i.e. the k-th largest key.
  var floor_key = 0u;
  if (params.top_k > 0u && params.top_k < vocab) {
    for (var b = 0u; b < 32u; b++) {
      let candidate = floor_key | (1u << (31u - b));
      if (count_at_least(candidate, lid) >= f32(params.top_k)) {
        floor_key = candidate;
      }
    }
  }

  // top-p: the smallest key t with mass(key > t) < top_p · Z; every key ≥ t is kept.
  // mass_above(t) falls from Z (t = 0; key 0 is a NaN pattern no score has) to 0, so t = 0 always fails the
  // test (Z ≥ top_p · Z) and the bisection finds the largest failing t; the kept keys are those > t.
  if (params.top_p < 1.0) {
    let goal = params.top_p * mass_above(0u, floor_key, m, lid);
    var t = 0u;
    for (var b = 0u; b < 32u; b++) {
      let candidate = t | (1u << (31u - b));
      if (mass_above(candidate, floor_key, m, lid) >= goal) {
        t = candidate;
      }
    }
    floor_key = max(floor_key, t + 1u);
  }

  // Draw: contiguous index ranges per invocation, an exclusive scan of their kept mass, then the one
  // invocation whose range holds u · Z walks it.
  let per = (vocab + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  let begin = min(lid * per, vocab);
  let end = min(begin + per, vocab);
  var own = 0.0;
  var own_last = NONE;
  for (var i = begin; i < end; i++) {
    let s = score(i);
    if (order_key(s) >= floor_key) {
      own += exp(s - m);
      own_last = i;
    }
  }
  workgroupBarrier();
  red_f[lid] = own;
  if (lid == 0u) {
    atomicStore(&chosen, NONE);
    atomicStore(&last_kept, 0u);
  }
  workgroupBarrier();
  if (own_last != NONE) {
    atomicMax(&last_kept, own_last);
  }
  if (lid == 0u) {
    var acc = 0.0;
    for (var t = 0u; t < WORKGROUP_SIZE; t++) {
      prefix[t] = acc;
      acc += red_f[t];
    }
    total = acc;
  }
  workgroupBarrier();
  let u = f32(pcg(pcg(params.seed) ^ (params.step + draw)) >> 8u) / 16777216.0;
  let goal = u * total;
  let start = prefix[lid];
  if (own > 0.0 && start <= goal && goal < start + own) {
    var cum = start;
    for (var i = begin; i < end; i++) {
      let s = score(i);
      if (order_key(s) >= floor_key) {
        cum += exp(s - m);
        if (cum > goal) {
          atomicMin(&chosen, i);
          break;
        }
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let c = atomicLoad(&chosen);
    out[draw] = select(c, atomicLoad(&last_kept), c == NONE);
  }
}
