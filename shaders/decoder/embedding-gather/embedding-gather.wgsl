// embedding-gather — rows of the token-embedding table for a list of token ids, as the exporter writes the table:
// f32 (fp32 packages) or f16 (q4 packages; rows out as f32 for q4f32's activations, as f16 for q4f16's).
//
// Bindings
//   0 params   uniform Params                            (hidden even for the f16 table; vocab: rows of this table
//                                                        part, first_row: the id of its row 0)
//   1 ids      storage read u32 [count]                  (e.g. the sampler's output buffer: no CPU round trip)
//   2 table    main_f32_to_f32: storage read f32 [vocab, hidden]   (the whole table, or one row part of it)
//              table_words (main_f16_to_*): storage read u32 [vocab, hidden / 2], two f16 per word, element 2i in
//              the low half
//   3 out      main_*_to_f32: storage read_write f32 [count, hidden]
//              out_words (main_f16_to_f16): storage read_write u32 [count, hidden / 2] (f16 pairs, as the table)
// Math: out[t, :] = table[ids[t] − first_row, :] for the ids this dispatch claims, first_row ≤ id < claim_end; other
//   rows of out are left as they are. A table stored as row parts (a weight over one storage binding) is gathered by
//   one dispatch per part, each binding its part as `table` with its first row and vocab = its row count, claiming
//   [first_row, first_row + vocab), the last part claiming everything from its first row (claim_end = 2³² − 1).
//   A claimed id past the part (id ≥ first_row + vocab: past the whole vocabulary) writes zeros: the engine validates
//   ids on the CPU; zeros make a corrupt id visible instead of reading another row. A whole table is one part:
//   first_row 0, claim_end 2³² − 1. f16 → f32 by unpack2x16float (no shader-f16 feature); main_f16_to_f16 copies
//   words.
// Dispatch: linear id = wid.x + wid.y · num_workgroups.x; main_f32_to_f32: one element per invocation,
//   ceil(count · hidden / WORKGROUP_SIZE) workgroups; main_f16_to_*: one word (two elements) per invocation,
//   ceil(count · hidden / 2 / WORKGROUP_SIZE) workgroups.
// Precision: exact (copies; f16 → f32 is exact).

struct Params {
  count: u32,
  hidden: u32,
  vocab: u32,
  first_row: u32,
  claim_end: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> table_words: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_words: array<u32>;

// The row of `id` in this part, or vocab when the id is claimed but past the part (a zero row).
fn part_row(id: u32) -> u32 {
  return min(id - params.first_row, params.vocab);
}

fn claimed(id: u32) -> bool {
  return id >= params.first_row && id < params.claim_end;
}

fn invocation(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_f32_to_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = invocation(wid, nwg, lid);
  if (i >= params.count * params.hidden) {
    return;
  }
  let id = ids[i / params.hidden];
  if (!claimed(id)) {
    return;
  }
  let row = part_row(id);
  out[i] = select(0.0, table[min(row, params.vocab - 1u) * params.hidden + i % params.hidden], row < params.vocab);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_f16_to_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let half_hidden = params.hidden / 2u;
  let i = invocation(wid, nwg, lid);
  if (i >= params.count * half_hidden) {
    return;
  }
  let id = ids[i / half_hidden];
  if (!claimed(id)) {
    return;
  }
  let row = part_row(id);
  let v = select(vec2<f32>(0.0), unpack2x16float(table_words[min(row, params.vocab - 1u) * half_hidden + i % half_hidden]), row < params.vocab);
  out[2u * i] = v.x;
  out[2u * i + 1u] = v.y;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_f16_to_f16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let half_hidden = params.hidden / 2u;
  let i = invocation(wid, nwg, lid);
  if (i >= params.count * half_hidden) {
    return;
  }
  let id = ids[i / half_hidden];
  if (!claimed(id)) {
    return;
  }
  let row = part_row(id);
  out_words[i] = select(0u, table_words[min(row, params.vocab - 1u) * half_hidden + i % half_hidden], row < params.vocab);
}
