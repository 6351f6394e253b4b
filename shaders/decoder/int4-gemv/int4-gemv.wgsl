// int4-gemv — y = x · Wᵀ for one token (M = 1), W int4 in onnxruntime's MatMulNBits layout, optionally with
// the Llama RMSNorm of x fused in front. Compiled after a scales prelude (scales-f32.wgsl, scales-f16.wgsl) that
// defines ScaleWord, scale_word and scale_value.
//
// Bindings
//   0 params    uniform Params (any k ≥ 1; blocks_per_row = ceil(k / 32); y_offset: first element of y written)
//   1 x         storage read  vec4<f32>: x [ceil(k / 4)] from element 0; with NORM the RMSNorm weight [ceil(k / 4)]
//               from element norm_offset (a multiple of 4) of the same buffer. Elements k .. 4·ceil(k / 4) − 1 of
//               either are read but masked to 0 (they may hold anything); nothing past them is read.
//   2 qweight   storage read  vec4<u32> [n, ceil(k / 32)]   one 16-byte block = 32 int4 (byte i: low nibble k = 2i,
//               high k = 2i + 1); the last block of a row holds k % 32 real codes when k % 32 ≠ 0 (MatMulNBits pads
//               each row to whole blocks), its padding codes are never multiplied by anything but 0
//   3 scales    storage read  [n, ceil(k / 32)] of the scales prelude's type: f32 (scales-f32.wgsl) or f16 pairs in u32
//               words (scales-f16.wgsl); read through scale_word / scale_value, so both are f32 in registers
//   4 y         storage read_write f32 [y_offset + n]
//   5 qweight2  (main_swiglu, main_store3) a second matrix, same layout: SwiGLU's "up" rows starting at row
//               up_row_offset (gate and up may be one packed [2n, k/32, 16] buffer bound twice); main_store3's second
//   6 scales2   (main_swiglu, main_store3) its scales, rows as above
//   7 qweight3  (main_store3) the third matrix
//   8 scales3   (main_store3)
// Math: W[n, k] = (q[n, k] - 8) · scale[n, k / 32] (implicit zero point 8), dot[n] = Σ_k x'[k] · W[n, k] with
//   x' = x, or with NORM x' = x · norm_w · r, r = inverseSqrt(Σ x² / k + eps) (HF LlamaRMSNorm), applied as
//   dot = r · Σ_k (x · norm_w)[k] · W[n, k] (r is one scalar per token, so it factors out of the sum).
//   main_store:  y[y_offset + n] = dot[n]
//   main_store3: the same over three matrices stacked along n (rows [0, up_row_offset) from 2/3, the next n_b
//                from 5/6, the rest from 7/8): q, k and v in one dispatch
//   main_add:    y[y_offset + n] += dot[n]                      (the residual add of o_proj / down_proj)
//   main_swiglu: y[y_offset + n] = silu(dot_gate[n]) · dot_up[n] (gate rows from 2/3, up rows from 5/6)
// Work split: a workgroup owns ROWS consecutive rows; every invocation takes one block per step for all ROWS rows,
//   issuing their weight and scale loads before any math; each x block is loaded once per invocation for ROWS rows.
//   The loop runs over the k / 32 full blocks only; a partial last block (k % 32 ≠ 0) is peeled after it and taken
//   by one invocation with x masked past k (load_x_tail), so the hot loop has no per-block branch.
//   A workgroup together reads all of x once, so the fused norm's Σ x² is one more accumulator of the same
//   reduction, a tree over WORKGROUP_SIZE (a power of two) in workgroup memory.
// Unpacking: nibble t of a u32 word (bits 4t..4t+3) is masked in place and OR-ed into the mantissa of 2^23:
//   bitcast<f32>(0x4B000000 | q · 16^t) = 2^23 + q · 16^t exactly; subtracting 2^23 + 8 · 16^t gives (q − 8) · 16^t,
//   and x is pre-scaled by 16^−t (exact powers of two) once per block for all ROWS rows.
// Dispatch: ceil(n / ROWS) workgroups; linear id = wid.x + wid.y * num_workgroups.x. Rows past n are
//   computed on the clamped last row and not written (odd n needs no padding).
// Precision: f32; per block Σ (q − 8)·x, then times the block's scale (f16 scales widened exactly), summed over
//   blocks.

struct Params {
  n: u32,
  k: u32,
  blocks_per_row: u32,
  up_row_offset: u32,
  y_offset: u32,
  eps: f32,
  norm_offset: u32,
  n_b: u32,
}

override WORKGROUP_SIZE: u32 = 64u;
override ROWS: u32 = 8u;
override NORM: bool = false;
const MAX_ROWS: u32 = 8u;
// Accumulators per invocation: 2 · MAX_ROWS (SwiGLU's gate and up rows) and the norm's Σ x².
const MAX_ACC: u32 = 17u;
// Index of the Σ x² accumulator (NORM) in the accumulator array; rows use 0 .. 2 · ROWS − 1.
const SUMSQ: u32 = MAX_ACC - 1u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> qweight: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> scales: array<ScaleWord>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> qweight2: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> scales2: array<ScaleWord>;
@group(0) @binding(7) var<storage, read> qweight3: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read> scales3: array<ScaleWord>;

// One x block (32 elements) prepared once per invocation and shared by its ROWS rows:
// v[2j], v[2j + 1] = x[8j .. 8j + 3], x[8j + 4 .. 8j + 7] times (1, 1/16, 1/256, 1/4096);
// sumsq = Σ x² of the raw x (NORM's statistic); x is multiplied by norm_w first.
struct XBlock {
  v: array<vec4<f32>, 8>,
  sumsq: f32,
}

const BLOCK: u32 = 32u;

const NIBBLE_SCALE = vec4<f32>(1.0, 0.0625, 0.00390625, 0.000244140625);

fn load_x_block(b: u32) -> XBlock {
  let o = b * 8u;
  var xb: XBlock;
  var squares = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    var xa = x[o + 2u * j];
    var xc = x[o + 2u * j + 1u];
    if (NORM) {
      squares += xa * xa + xc * xc;
      let nw = params.norm_offset / 4u + o + 2u * j;
      xa *= x[nw];
      xc *= x[nw + 1u];
    }
    xb.v[2u * j] = xa * NIBBLE_SCALE;
    xb.v[2u * j + 1u] = xc * NIBBLE_SCALE;
  }
  xb.sumsq = squares.x + squares.y + squares.z + squares.w;
  return xb;
}

const NIBBLE_MASK = vec4<u32>(0xFu, 0xF0u, 0xF00u, 0xF000u);
const FLOAT_2_23 = vec4<u32>(0x4B000000u);
// 2^23 + 8 · 16^t: the magic number's value plus the zero point at nibble position t.
const NIBBLE_BIAS = vec4<f32>(8388616.0, 8388736.0, 8390656.0, 8421376.0);

// Σ_k (q_k − 8) · x_k over one block. Word j of the block holds k = 8j .. 8j+7; its byte i holds k = 8j+2i (low
// nibble) and 8j+2i+1 (high nibble), i.e. nibble t (bits 4t..4t+3) holds k = 8j + t.
fn block_dot(w: vec4<u32>, xb: ptr<function, XBlock>) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j < 4u; j++) {
    let word = w[j];
    let lo = bitcast<vec4<f32>>((vec4<u32>(word) & NIBBLE_MASK) | FLOAT_2_23) - NIBBLE_BIAS;
    let hi = bitcast<vec4<f32>>((vec4<u32>(word >> 16u) & NIBBLE_MASK) | FLOAT_2_23) - NIBBLE_BIAS;
    acc += dot(lo, (*xb).v[2u * j]) + dot(hi, (*xb).v[2u * j + 1u]);
  }
  return acc;
}

// One matrix binding set's partial dot products: rows row0 .. row0 + ROWS − 1 (clamped to `last`, then offset by
// `row_offset` inside the buffer) over this invocation's blocks, added into acc[acc0 ..]; (NORM, with_sumsq) the
// partial Σ x² into acc[SUMSQ]. WGSL cannot pass a storage buffer to a function, so the body is repeated per
// binding set (dot_rows, dot_rows2, dot_rows3).
fn dot_rows(row0: u32, lid: u32, last: u32, row_offset: u32, acc0: u32, with_sumsq: bool, acc_in: array<f32, MAX_ACC>) -> array<f32, MAX_ACC> {
  var acc = acc_in;
  let bpr = params.blocks_per_row;
  let full = params.k / BLOCK;
  for (var b = lid; b < full; b += WORKGROUP_SIZE) {
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = (min(row0 + r, last) + row_offset) * bpr;
      w[r] = qweight[base + b];
      s[r] = scale_value(scales[scale_word(base + b)], base + b);
    }
    accumulate_block(&acc, b, &w, &s, acc0, with_sumsq);
  }
  if (full < bpr && lid == full % WORKGROUP_SIZE) {
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = (min(row0 + r, last) + row_offset) * bpr;
      w[r] = qweight[base + full];
      s[r] = scale_value(scales[scale_word(base + full)], base + full);
    }
    accumulate_tail(&acc, full, &w, &s, acc0, with_sumsq);
  }
  return acc;
}

fn dot_rows2(row0: u32, lid: u32, last: u32, row_offset: u32, acc0: u32, with_sumsq: bool, acc_in: array<f32, MAX_ACC>) -> array<f32, MAX_ACC> {
  var acc = acc_in;
  let bpr = params.blocks_per_row;
  let full = params.k / BLOCK;
  for (var b = lid; b < full; b += WORKGROUP_SIZE) {
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = (min(row0 + r, last) + row_offset) * bpr;
      w[r] = qweight2[base + b];
      s[r] = scale_value(scales2[scale_word(base + b)], base + b);
    }
    accumulate_block(&acc, b, &w, &s, acc0, with_sumsq);
  }
  if (full < bpr && lid == full % WORKGROUP_SIZE) {
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = (min(row0 + r, last) + row_offset) * bpr;
      w[r] = qweight2[base + full];
      s[r] = scale_value(scales2[scale_word(base + full)], base + full);
    }
    accumulate_tail(&acc, full, &w, &s, acc0, with_sumsq);
  }
  return acc;
}

fn dot_rows3(row0: u32, lid: u32, last: u32, row_offset: u32, acc0: u32, with_sumsq: bool, acc_in: array<f32, MAX_ACC>) -> array<f32, MAX_ACC> {
  var acc = acc_in;
  let bpr = params.blocks_per_row;
  let full = params.k / BLOCK;
  for (var b = lid; b < full; b += WORKGROUP_SIZE) {
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = (min(row0 + r, last) + row_offset) * bpr;
      w[r] = qweight3[base + b];
      s[r] = scale_value(scales3[scale_word(base + b)], base + b);
    }
    accumulate_block(&acc, b, &w, &s, acc0, with_sumsq);
  }
  if (full < bpr && lid == full % WORKGROUP_SIZE) {
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = (min(row0 + r, last) + row_offset) * bpr;
      w[r] = qweight3[base + full];
      s[r] = scale_value(scales3[scale_word(base + full)], base + full);
    }
    accumulate_tail(&acc, full, &w, &s, acc0, with_sumsq);
  }
  return acc;
}

// The partial last block b = k / 32 (k % 32 = count > 0 real elements), as load_x_block but with every element at
// or past k set to 0 after the norm weight is applied, so neither x's nor the norm weight's values past k (whatever
// the buffer holds there) nor the padding codes reach a sum. The vec4s wholly past k are never read.
fn load_x_tail(b: u32, count: u32) -> XBlock {
  let o = b * 8u;
  let vecs = (count + 3u) / 4u;
  var xb: XBlock;
  var squares = vec4<f32>(0.0);
  for (var i = 0u; i < 8u; i++) {
    var v = vec4<f32>(0.0);
    if (i < vecs) {
      let live = vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(count);
      let raw = select(vec4<f32>(0.0), x[o + i], live);
      v = raw;
      if (NORM) {
        squares += raw * raw;
        v = select(vec4<f32>(0.0), raw * x[params.norm_offset / 4u + o + i], live);
      }
    }
    xb.v[i] = v * NIBBLE_SCALE;
  }
  xb.sumsq = squares.x + squares.y + squares.z + squares.w;
  return xb;
}

// acc[acc0 + r] += s[r] · block_dot(w[r], x block b) for the ROWS rows; (NORM, with_sumsq) acc[SUMSQ] += Σ x².
fn accumulate_block(acc: ptr<function, array<f32, MAX_ACC>>, b: u32, w: ptr<function, array<vec4<u32>, MAX_ROWS>>,
                    s: ptr<function, array<f32, MAX_ROWS>>, acc0: u32, with_sumsq: bool) {
  var xb = load_x_block(b);
  if (NORM && with_sumsq) {
    (*acc)[SUMSQ] += xb.sumsq;
  }
  for (var r = 0u; r < ROWS; r++) {
    (*acc)[acc0 + r] += (*s)[r] * block_dot((*w)[r], &xb);
  }
}

// accumulate_block for the partial last block b (load_x_tail instead of load_x_block).
fn accumulate_tail(acc: ptr<function, array<f32, MAX_ACC>>, b: u32, w: ptr<function, array<vec4<u32>, MAX_ROWS>>,
                   s: ptr<function, array<f32, MAX_ROWS>>, acc0: u32, with_sumsq: bool) {
  var xb = load_x_tail(b, params.k - b * BLOCK);
  if (NORM && with_sumsq) {
    (*acc)[SUMSQ] += xb.sumsq;
  }
  for (var r = 0u; r < ROWS; r++) {
    (*acc)[acc0 + r] += (*s)[r] * block_dot((*w)[r], &xb);
  }
}

// reduce_rows(acc, count, lid): row_totals[r] = Σ over the workgroup of acc[r] for r < count and (NORM) for
// r = SUMSQ, then a barrier: a tree in workgroup memory (MAX_ACC · WORKGROUP_SIZE floats), row-major by row.
var<workgroup> partials: array<f32, MAX_ACC * WORKGROUP_SIZE>; // row-major by row
var<workgroup> row_totals: array<f32, MAX_ACC>;

fn reduced(r: u32, count: u32) -> bool {
  return r < count || (NORM && r == SUMSQ);
}

fn reduce_rows(acc: array<f32, MAX_ACC>, count: u32, lid: u32) {
  for (var r = 0u; r < MAX_ACC; r++) {
    if (reduced(r, count)) {
      partials[r * WORKGROUP_SIZE + lid] = acc[r];
    }
  }
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      for (var r = 0u; r < MAX_ACC; r++) {
        if (reduced(r, count)) {
          partials[r * WORKGROUP_SIZE + lid] += partials[r * WORKGROUP_SIZE + lid + stride];
        }
      }
    }
    workgroupBarrier();
  }
  for (var r = lid; r < MAX_ACC; r += WORKGROUP_SIZE) {
    if (reduced(r, count)) {
      row_totals[r] = partials[r * WORKGROUP_SIZE];
    }
  }
  workgroupBarrier();
}

fn first_row(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * ROWS;
}

// The factor NORM applies to every row total (1 without NORM); call after reduce_rows.
fn norm_factor() -> f32 {
  if (NORM) {
    return inverseSqrt(row_totals[SUMSQ] / f32(params.k) + params.eps);
  }
  return 1.0;
}

fn zeros() -> array<f32, MAX_ACC> {
  return array<f32, MAX_ACC>();
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_store(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  reduce_rows(dot_rows(row0, lid, params.n - 1u, 0u, 0u, true, zeros()), ROWS, lid);
  if (lid < ROWS && row0 + lid < params.n) {
    y[params.y_offset + row0 + lid] = row_totals[lid] * norm_factor();
  }
}

// Three matrices stacked along n in one dispatch (q, k and v): rows [0, n_a) from qweight/scales, [n_a, n_a + n_b)
// from qweight2/scales2, [n_a + n_b, n) from qweight3/scales3; n_a and n_b are multiples of ROWS, so a workgroup's
// rows lie in one matrix (a uniform branch).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main_store3(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  let n_a = params.up_row_offset;
  let n_ab = n_a + params.n_b;
  var acc: array<f32, MAX_ACC>;
  if (row0 < n_a) {
    acc = dot_rows(row0, lid, n_a - 1u, 0u, 0u, true, zeros());
  } else if (row0 < n_ab) {
    acc = dot_rows2(row0 - n_a, lid, params.n_b - 1u, 0u, 0u, true, zeros());
  } else {
    acc = dot_rows3(row0 - n_ab, lid, params.n - n_ab - 1u, 0u, 0u, true, zeros());
  }
  reduce_rows(acc, ROWS, lid);
  if (lid < ROWS && row0 + lid < params.n) {
    y[params.y_offset + row0 + lid] = row_totals[lid] * norm_factor();
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  reduce_rows(dot_rows(row0, lid, params.n - 1u, 0u, 0u, true, zeros()), ROWS, lid);
  if (lid < ROWS && row0 + lid < params.n) {
    let o = params.y_offset + row0 + lid;
    y[o] = y[o] + row_totals[lid] * norm_factor();
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  let last = params.n - 1u;
  let gate = dot_rows(row0, lid, last, 0u, 0u, true, zeros());
  reduce_rows(dot_rows2(row0, lid, last, params.up_row_offset, ROWS, false, gate), 2u * ROWS, lid);
  if (lid < ROWS && row0 + lid < params.n) {
    let r = norm_factor();
    let g = row_totals[lid] * r;
    y[params.y_offset + row0 + lid] = g / (1.0 + exp(-g)) * row_totals[ROWS + lid] * r;
  }
}
