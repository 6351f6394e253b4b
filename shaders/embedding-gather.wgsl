// embedding-gather — rows of the token-embedding table for a list of token ids.
//
// Bindings
//   0 params   uniform { count, hidden, vocab, _ }
//   1 ids      storage read u32 [count]   (e.g. the sampler's output buffer: no CPU round trip)
//   2 table    storage read f32 [vocab, hidden]
//   3 out      storage read_write f32 [count, hidden]
// Math: out[t, :] = table[ids[t], :]. An id ≥ vocab writes zeros: the engine validates ids on the CPU;
//   zeros make a corrupt id visible instead of reading another row. (int4 tables: embedding-gather-int4.wgsl.)
// Dispatch: ceil(count · hidden / WORKGROUP_SIZE) workgroups, one element per invocation,
//   linear id = wid.x + wid.y · num_workgroups.x.
// Precision: exact (f32 copy).

struct Params {
  count: u32,
  hidden: u32,
  vocab: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.count * params.hidden) {
    return;
  }
  let t = i / params.hidden;
  let d = i % params.hidden;
  let id = ids[t];
  out[i] = select(0.0, table[min(id, params.vocab - 1u) * params.hidden + d], id < params.vocab);
}
