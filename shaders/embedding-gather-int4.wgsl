// embedding-gather-int4 — rows of an int4 token-embedding table (MatMulNBits layout) for a list of ids.
//
// Bindings
//   0 params   uniform { count, hidden, vocab, _ }          (hidden a multiple of 32)
//   1 ids      storage read u32 [count]
//   2 qweight  storage read vec4<u32> [vocab, hidden / 32]  16 bytes per block; byte i: low nibble k = 2i, high 2i + 1
//   3 scales   storage read f32 [vocab, hidden / 32]
//   4 out      storage read_write f32 [count, hidden]
// Math: out[t, k] = (q[id, k] − 8) · scale[id, k / 32]; an id ≥ vocab writes zeros (see embedding-gather.wgsl).
// Dispatch: one block of 32 outputs per invocation: ceil(count · hidden / 32 / WORKGROUP_SIZE) workgroups,
//   linear id = wid.x + wid.y · num_workgroups.x.
// Precision: one f32 product per element (exact dequantization of the stored values).

struct Params {
  count: u32,
  hidden: u32,
  vocab: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> qweight: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let blocks = params.hidden / 32u;
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.count * blocks) {
    return;
  }
  let t = i / blocks;
  let b = i % blocks;
  let id = ids[t];
  let valid = id < params.vocab;
  let row = min(id, params.vocab - 1u);
  let w = qweight[row * blocks + b];
  let s = select(0.0, scales[row * blocks + b], valid);
  let base = t * params.hidden + b * 32u;
  for (var j = 0u; j < 4u; j++) {
    let word = w[j];
    for (var byte = 0u; byte < 4u; byte++) {
      let v = (word >> (8u * byte)) & 255u;
      let k = base + j * 8u + byte * 2u;
      out[k] = (f32(v & 15u) - 8.0) * s;
      out[k + 1u] = (f32(v >> 4u) - 8.0) * s;
    }
  }
}
