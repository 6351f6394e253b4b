// int4-gemv — y = x · Wᵀ for one token (M = 1), W int4 in onnxruntime's MatMulNBits layout.
//
// Bindings
//   0 params    uniform { n, k, blocks_per_row, up_row_offset, y_offset, _, _, _ }
//               (k a multiple of 32; blocks_per_row = k / 32; y_offset: first element of y written)
//   1 x         storage read  vec4<f32> [k / 4]
//   2 qweight   storage read  vec4<u32> [n, k / 32]   one 16-byte block = 32 int4 (byte i: low nibble k = 2i, high k = 2i + 1)
//   3 scales    storage read  f32 [n, k / 32]
//   4 y         storage read_write f32 [y_offset + n]
//   5 qweight2  (main_swiglu only) the "up" rows, same layout, starting at row up_row_offset (so gate and up
//               may be one packed [2n, k/32, 16] buffer bound twice, with up_row_offset = n)
//   6 scales2   (main_swiglu only), rows from up_row_offset as well
// Math: W[n, k] = (q[n, k] - 8) · scale[n, k / 32] (implicit zero point 8), dot[n] = Σ_k x[k] · W[n, k].
//   main_store:  y[y_offset + n] = dot[n]            (all three write at y_offset + n)
//   main_add:    y[n] = y[n] + dot[n]                         (the residual add of o_proj / down_proj)
//   main_swiglu: y[n] = silu(dot_gate[n]) · dot_up[n]         (gate rows from 2/3, up rows from 5/6)
// Work split: a workgroup owns ROWS consecutive rows; every invocation walks blocks lid, lid + WORKGROUP_SIZE, …
//   (UNROLL of them per step)
//   and accumulates all ROWS rows, so each x block is loaded once per invocation for ROWS rows and each
//   row's loads are coalesced across invocations (consecutive 16-byte blocks). The per-row partial sums
//   are reduced by reduce_rows(), prepended to this file: int4-gemv-reduce-subgroup.wgsl (subgroupAdd)
//   or int4-gemv-reduce-workgroup.wgsl (workgroup-memory tree).
// Dispatch: ceil(n / ROWS) workgroups; linear id = wid.x + wid.y * num_workgroups.x. Rows past n are
//   computed on the clamped last row and not written (odd n needs no padding).
// Precision: f32; per block Σ q·x − 8·Σx (q the raw nibble), then times the block's scale, summed over blocks.

struct Params {
  n: u32,
  k: u32,
  blocks_per_row: u32,
  up_row_offset: u32,
  y_offset: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32 = 128u;
override ROWS: u32 = 4u;
override UNROLL: u32 = 1u; // blocks per invocation per step: 1 or 2
const MAX_ROWS: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> qweight: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> qweight2: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> scales2: array<f32>;

// One x block prepared once per invocation and shared by its ROWS rows: the even and odd elements of each
// 8-element group (matching the low and high nibbles of a weight word) and the block's sum.
struct XBlock {
  even: array<vec4<f32>, 4>,
  odd: array<vec4<f32>, 4>,
  sum: f32,
}

fn load_x_block(b: u32) -> XBlock {
  let o = b * 8u;
  var xb: XBlock;
  var total = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let xa = x[o + 2u * j];
    let xc = x[o + 2u * j + 1u];
    xb.even[j] = vec4<f32>(xa.x, xa.z, xc.x, xc.z);
    xb.odd[j] = vec4<f32>(xa.y, xa.w, xc.y, xc.w);
    total += xa + xc;
  }
  xb.sum = total.x + total.y + total.z + total.w;
  return xb;
}

// Σ_k (q_k − 8) · x_k over one block, as Σ q·x − 8 · Σ x: the zero point costs one FMA per block instead of
// a subtract per weight (the decode GEMV is ALU-bound on unpacking: bench/results/int4-gemv-h200-run3.json). Word j of the block holds k = 8j .. 8j+7;
// its byte i holds k = 8j+2i (low nibble) and 8j+2i+1 (high nibble), so the masked low nibbles line up with
// the even elements and the high nibbles with the odd ones.
fn block_dot(w: vec4<u32>, xb: ptr<function, XBlock>) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j < 4u; j++) {
    let word = w[j];
    // Shifts and masks rather than unpack4xU8 (a WGSL language extension): the same code after Tint's polyfill.
    let lo = (vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(15u);
    let hi = (vec4<u32>(word) >> vec4<u32>(4u, 12u, 20u, 28u)) & vec4<u32>(15u);
    acc += dot(vec4<f32>(lo), (*xb).even[j]);
    acc += dot(vec4<f32>(hi), (*xb).odd[j]);
  }
  return acc - 8.0 * (*xb).sum;
}

// Partial dot products of rows row0 .. row0 + ROWS - 1 over this invocation's blocks. With UNROLL = 2 an
// invocation takes blocks b and b + WORKGROUP_SIZE per step and issues all their loads before any math, so
// twice the bytes are in flight; a second block past the row is clamped and weighted 0.
// `second` selects qweight2/scales2 (SwiGLU's up rows, from up_row_offset) and accumulates into acc[ROWS ..].
fn dot_rows(row0: u32, lid: u32) -> array<f32, MAX_ACC> {
  var acc: array<f32, MAX_ACC>;
  let bpr = params.blocks_per_row;
  let last = params.n - 1u;
  for (var b = lid; b < bpr; b += WORKGROUP_SIZE * UNROLL) {
    let b2 = b + WORKGROUP_SIZE;
    let has2 = UNROLL > 1u && b2 < bpr;
    let b2c = select(b, b2, has2);
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    var w2: array<vec4<u32>, MAX_ROWS>;
    var s2: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = min(row0 + r, last) * bpr;
      w[r] = qweight[base + b];
      s[r] = scales[base + b];
      if (UNROLL > 1u) {
        w2[r] = qweight[base + b2c];
        s2[r] = select(0.0, scales[base + b2c], has2);
      }
    }
    var xs = load_x_block(b);
    for (var r = 0u; r < ROWS; r++) {
      acc[r] += s[r] * block_dot(w[r], &xs);
    }
    if (UNROLL > 1u) {
      var xs2 = load_x_block(b2c);
      for (var r = 0u; r < ROWS; r++) {
        acc[r] += s2[r] * block_dot(w2[r], &xs2);
      }
    }
  }
  return acc;
}

// The same over qweight2/scales2 (rows from up_row_offset), accumulated into acc[ROWS ..].
fn dot_rows2(row0: u32, lid: u32, acc_in: array<f32, MAX_ACC>) -> array<f32, MAX_ACC> {
  var acc = acc_in;
  let bpr = params.blocks_per_row;
  let last = params.n - 1u;
  for (var b = lid; b < bpr; b += WORKGROUP_SIZE * UNROLL) {
    let b2 = b + WORKGROUP_SIZE;
    let has2 = UNROLL > 1u && b2 < bpr;
    let b2c = select(b, b2, has2);
    var w: array<vec4<u32>, MAX_ROWS>;
    var s: array<f32, MAX_ROWS>;
    var w2: array<vec4<u32>, MAX_ROWS>;
    var s2: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
      let base = (min(row0 + r, last) + params.up_row_offset) * bpr;
      w[r] = qweight2[base + b];
      s[r] = scales2[base + b];
      if (UNROLL > 1u) {
        w2[r] = qweight2[base + b2c];
        s2[r] = select(0.0, scales2[base + b2c], has2);
      }
    }
    var xs = load_x_block(b);
    for (var r = 0u; r < ROWS; r++) {
      acc[ROWS + r] += s[r] * block_dot(w[r], &xs);
    }
    if (UNROLL > 1u) {
      var xs2 = load_x_block(b2c);
      for (var r = 0u; r < ROWS; r++) {
        acc[ROWS + r] += s2[r] * block_dot(w2[r], &xs2);
      }
    }
  }
  return acc;
}

fn first_row(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * ROWS;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_store(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  reduce_rows(dot_rows(row0, lid), ROWS, lid);
  if (lid < ROWS && row0 + lid < params.n) {
    y[params.y_offset + row0 + lid] = row_totals[lid];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  reduce_rows(dot_rows(row0, lid), ROWS, lid);
  if (lid < ROWS && row0 + lid < params.n) {
    let o = params.y_offset + row0 + lid;
    y[o] = y[o] + row_totals[lid];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row0 = first_row(wid, nwg);
  reduce_rows(dot_rows2(row0, lid, dot_rows(row0, lid)), 2u * ROWS, lid);
  if (lid < ROWS && row0 + lid < params.n) {
    let gate = row_totals[lid];
    y[params.y_offset + row0 + lid] = gate / (1.0 + exp(-gate)) * row_totals[ROWS + lid];
  }
}
