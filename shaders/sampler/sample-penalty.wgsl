// sample-penalty — HF's repetition penalty, in place on the step's logits, for a list of DISTINCT ids.
//
// Bindings
//   0 params  uniform { count, vocab, penalty: f32, _ }
//   1 ids     storage read u32 [count]     previous token ids, each at most once (the wrapper dedups)
//   2 logits  storage read_write f32 [vocab]
// Math (RepetitionPenaltyLogitsProcessor): x ← x > 0 ? x / penalty : x · penalty, for x = logits[id].
//   Distinct ids keep the update race-free; ids ≥ vocab are skipped.
// Dispatch: ceil(count / WORKGROUP_SIZE) workgroups along x.
// Precision: one f32 division or product (as HF in f32).

struct Params {
  count: u32,
  vocab: u32,
  penalty: f32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.count) {
    return;
  }
  let id = ids[gid.x];
  if (id < params.vocab) {
    let x = logits[id];
    logits[id] = select(x * params.penalty, x / params.penalty, x > 0.0);
  }
}
