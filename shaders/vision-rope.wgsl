// vision-rope — Qwen2-VL's 2-D rotary position embedding, applied in place to q or k.
//
// Bindings
//   0 params   uniform { rows, heads, head_dim, row_stride }
//   1 x        storage read_write f32, row r / head h / dim d at  r * row_stride + h * head_dim + d
//   2 cos_tab  storage read f32 [rows, head_dim / 2]
//   3 sin_tab  storage read f32 [rows, head_dim / 2]
// Math (rotate-half; dimension i pairs with i + half, half = head_dim / 2):
//   x'[i]        = x[i]        * cos[r, i] - x[i + half] * sin[r, i]
//   x'[i + half] = x[i + half] * cos[r, i] + x[i]        * sin[r, i]
// The tables hold the angle per pair: for Qwen2-VL (head_dim 80) pairs 0..19 turn by the patch row,
// pairs 20..39 by the patch column (built by src/processor/vision-rotary.ts).
// Dispatch: one invocation per (row, head, pair); linear workgroup id = wid.x + wid.y * num_workgroups.x.
// Precision: f32 throughout.

struct Params {
  rows: u32,
  heads: u32,
  head_dim: u32,
  row_stride: u32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cos_tab: array<f32>;
@group(0) @binding(3) var<storage, read> sin_tab: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = params.head_dim / 2u;
  let index = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (index >= params.rows * params.heads * half) {
    return;
  }
  let pair = index % half;
  let head = (index / half) % params.heads;
  let row = index / (half * params.heads);
  let base = row * params.row_stride + head * params.head_dim;
  let c = cos_tab[row * half + pair];
  let s = sin_tab[row * half + pair];
  let a = x[base + pair];
  let b = x[base + pair + half];
  x[base + pair] = a * c - b * s;
  x[base + pair + half] = b * c + a * s;
}
