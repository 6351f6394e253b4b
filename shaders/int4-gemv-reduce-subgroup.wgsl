// int4-gemv reduction, subgroup variant (prepended to int4-gemv.wgsl when the device has `subgroups`).
//
// reduce_rows(acc, count, lid): row_totals[r] = Σ over the workgroup of acc[r] for r < count and (NORM) for
// r = SUMSQ, the last accumulator, then a barrier.
// subgroupAdd sums each subgroup; one elected lane per subgroup stores the sums with its key (the smallest
// local index in the subgroup) at a slot taken with an atomic. The slots are then summed in key order, not
// slot order, so the result does not depend on which subgroup finished first (deterministic output).
// Nothing assumes a subgroup size or how invocations map to subgroups; only that the smallest subgroup
// has 4 invocations (the WebGPU minimum), which bounds the slot count at WORKGROUP_SIZE / 4.
enable subgroups;

const MAX_ACC: u32 = 17u;
const MAX_SLOTS: u32 = 64u;

var<workgroup> slot_count: atomic<u32>;
var<workgroup> slot_keys: array<u32, MAX_SLOTS>;
var<workgroup> slot_sums: array<f32, 1088>; // MAX_SLOTS * MAX_ACC
var<workgroup> row_totals: array<f32, MAX_ACC>;

fn reduced(r: u32, count: u32) -> bool {
  return r < count || (NORM && r == SUMSQ);
}

fn reduce_rows(acc: array<f32, MAX_ACC>, count: u32, lid: u32) {
  var sums: array<f32, MAX_ACC>;
  for (var r = 0u; r < MAX_ACC; r++) {
    if (reduced(r, count)) {
      sums[r] = subgroupAdd(acc[r]);
    }
  }
  let key = subgroupMin(lid);
  if (subgroupElect()) {
    let slot = atomicAdd(&slot_count, 1u);
    slot_keys[slot] = key;
    for (var r = 0u; r < MAX_ACC; r++) {
      if (reduced(r, count)) {
        slot_sums[slot * MAX_ACC + r] = sums[r];
      }
    }
  }
  workgroupBarrier();
  let slots = atomicLoad(&slot_count);
  for (var r = lid; r < MAX_ACC; r += WORKGROUP_SIZE) {
    if (!reduced(r, count)) {
      continue;
    }
    var total = 0.0;
    var previous = -1;
    for (var n = 0u; n < slots; n++) {
      // The slot with the smallest key above `previous` (keys are distinct local indices).
      var best = 0u;
      var best_key = 0x7fffffff;
      for (var s = 0u; s < slots; s++) {
        let k = i32(slot_keys[s]);
        if (k > previous && k < best_key) {
          best_key = k;
          best = s;
        }
      }
      total += slot_sums[best * MAX_ACC + r];
      previous = best_key;
    }
    row_totals[r] = total;
  }
  workgroupBarrier();
}
