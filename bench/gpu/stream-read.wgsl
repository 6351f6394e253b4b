// stream-read — bench helper: the card's achievable read bandwidth. Each invocation sums `per` vec4<u32> loads
// strided by the grid size (coalesced), and writes one word only if the sum hits an impossible value, so the
// loads cannot be optimized away and nothing is written.
// Bindings: 0 params uniform { vec4s, per, threads, _ }, 1 src storage vec4<u32> [vec4s], 2 sink storage u32 [1].
// Dispatch: threads / 256 workgroups, linear id = wid.x + wid.y * num_workgroups.x.

struct Params {
  vec4s: u32,
  per: u32,
  threads: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> sink: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * 256u + lid;
  var acc = vec4<u32>(0u);
  for (var i = 0u; i < params.per; i++) {
    let j = t + i * params.threads;
    if (j < params.vec4s) {
      acc ^= src[j];
    }
  }
  if (all(acc == vec4<u32>(0x12345678u, 0x9abcdef0u, 0x0fedcba9u, 0x87654321u))) {
    sink[0] = t;
  }
}
