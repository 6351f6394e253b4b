// int4-gemv reduction, workgroup-memory variant (prepended to int4-gemv.wgsl when there are no subgroups).
//
// reduce_rows(acc, count, lid): row_totals[r] = Σ over the workgroup of acc[r], r < count, then a barrier.
// A tree over WORKGROUP_SIZE (a power of two) in workgroup memory (MAX_ACC · WORKGROUP_SIZE floats), count rows at a time.

const MAX_ACC: u32 = 16u;

var<workgroup> partials: array<f32, MAX_ACC * WORKGROUP_SIZE>; // row-major by row
var<workgroup> row_totals: array<f32, MAX_ACC>;

fn reduce_rows(acc: array<f32, MAX_ACC>, count: u32, lid: u32) {
  for (var r = 0u; r < count; r++) {
    partials[r * WORKGROUP_SIZE + lid] = acc[r];
  }
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      for (var r = 0u; r < count; r++) {
        partials[r * WORKGROUP_SIZE + lid] += partials[r * WORKGROUP_SIZE + lid + stride];
      }
    }
    workgroupBarrier();
  }
  if (lid < count) {
    row_totals[lid] = partials[lid * WORKGROUP_SIZE];
  }
  workgroupBarrier();
}
