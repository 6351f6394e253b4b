// fill-random — bench helper: out[i] = hash(i ^ seed) for i < count (u32 words), so weights are not
// compressible (NVIDIA compresses runs of zeros, which would inflate a bandwidth figure).
// Bindings: 0 params uniform { count, seed }, 1 out storage u32 [count].
// Dispatch: ceil(count / 256) workgroups, linear id = wid.x + wid.y * num_workgroups.x.

struct Params {
  count: u32,
  seed: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < params.count) {
    var h = i ^ params.seed;
    h = (h ^ (h >> 16u)) * 0x7feb352du;
    h = (h ^ (h >> 15u)) * 0x846ca68bu;
    out[i] = h ^ (h >> 16u);
  }
}
