// int4-gemv reduction, workgroup-memory variant (prepended to int4-gemv.wgsl when there are no subgroups).
//
// reduce_rows(acc, count, lid): row_totals[r] = Σ over the workgroup of acc[r] for r < count and (NORM) for
// r = SUMSQ, the last accumulator, then a barrier.
// A tree over WORKGROUP_SIZE (a power of two) in workgroup memory (MAX_ACC · WORKGROUP_SIZE floats), count rows at a time.

const MAX_ACC: u32 = 17u;

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
