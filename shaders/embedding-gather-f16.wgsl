// embedding-gather-f16 — rows of an f16 token-embedding table (q4 packages) for a list of ids.
//
// Bindings
//   0 params   uniform { count, hidden, vocab, _ }          (hidden even)
//   1 ids      storage read u32 [count]
//   2 table    storage read u32 [vocab, hidden / 2]         two f16 per word, element 2i in the low half
//   3 out      main: storage read_write f32 [count, hidden]
//              main_f16_out: storage read_write u32 [count, hidden / 2] (f16 pairs, as the table stores them)
// Math: out[t, d] = table[ids[t], d] (main: as f32); an id ≥ vocab writes zeros (see embedding-gather.wgsl).
//   unpack2x16float needs no shader-f16 feature; main_f16_out copies words.
// Dispatch: one word (two outputs) per invocation: ceil(count · hidden / 2 / WORKGROUP_SIZE) workgroups,
//   linear id = wid.x + wid.y · num_workgroups.x.
// Precision: exact (f16 → f32 is exact).

struct Params {
  count: u32,
  hidden: u32,
  vocab: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_words: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let half_hidden = params.hidden / 2u;
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.count * half_hidden) {
    return;
  }
  let t = i / half_hidden;
  let w = i % half_hidden;
  let id = ids[t];
  let v = select(vec2<f32>(0.0), unpack2x16float(table[min(id, params.vocab - 1u) * half_hidden + w]), id < params.vocab);
  out[t * params.hidden + 2u * w] = v.x;
  out[t * params.hidden + 2u * w + 1u] = v.y;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_f16_out(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let half_hidden = params.hidden / 2u;
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.count * half_hidden) {
    return;
  }
  let id = ids[i / half_hidden];
  out_words[i] = select(0u, table[min(id, params.vocab - 1u) * half_hidden + i % half_hidden], id < params.vocab);
}
