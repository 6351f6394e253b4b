// decode-attention-combine — pass 2 of split-K decode attention: merges the chunks of each head.
//
// Bindings
//   0 params    uniform { heads, head_dim, max_len, max_chunks, out_offset, _, _, _ }
//   1 partials  storage read f32 [heads, max_chunks, head_dim + 2]  (o, m, l) from decode-attention.wgsl, then
//               the step's chunk count (an f32) at heads · max_chunks · (head_dim + 2)
//   2 out       storage read_write f32, out[h] at out_offset + h · head_dim
// Math: M = max_c m_c;  w_c = exp(m_c − M);  out[h, d] = Σ_c w_c · o_c[d] / Σ_c w_c · l_c
// Dispatch: one workgroup per head (linear id = wid.x + wid.y · num_workgroups.x).
// Work split: the chunks' m and w_c are computed in parallel (workgroup trees); for the output, groups of
//   head_dim invocations each sum every groups-th chunk with four independent accumulators (loads in flight),
//   then the groups are added in a fixed order.
// Precision: f32.

struct Params {
  heads: u32,
  head_dim: u32,
  max_len: u32,
  max_chunks: u32,
  out_offset: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32 = 256u;
const MAX_CHUNKS: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> weights: array<f32, MAX_CHUNKS>;
var<workgroup> red: array<f32, WORKGROUP_SIZE>;
var<workgroup> out_sh: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let h = wid.x + wid.y * nwg.x;
  if (h >= params.heads) {
    return;
  }
  let hd = params.head_dim;
  let stride = hd + 2u;
  let chunks = min(u32(partials[params.heads * params.max_chunks * stride]), min(params.max_chunks, MAX_CHUNKS));
  let base = h * params.max_chunks * stride;

  var local_max = -3.4e38;
  for (var c = lid; c < chunks; c += WORKGROUP_SIZE) {
    local_max = max(local_max, partials[base + c * stride + hd]);
  }
  red[lid] = local_max;
  workgroupBarrier();
  for (var s = WORKGROUP_SIZE / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();

  var local_l = 0.0;
  for (var c = lid; c < chunks; c += WORKGROUP_SIZE) {
    let w = exp(partials[base + c * stride + hd] - m);
    weights[c] = w;
    local_l += w * partials[base + c * stride + hd + 1u];
  }
  red[lid] = local_l;
  workgroupBarrier();
  for (var s = WORKGROUP_SIZE / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let l = red[0];

  // Output: head_dim ≤ WORKGROUP_SIZE uses groups = WORKGROUP_SIZE / head_dim; a larger head loops over d.
  let groups = max(1u, WORKGROUP_SIZE / hd);
  let g = lid / min(hd, WORKGROUP_SIZE);
  for (var d0 = 0u; d0 < hd; d0 += WORKGROUP_SIZE) {
    let d = d0 + lid % min(hd, WORKGROUP_SIZE);
    var o = vec4<f32>(0.0);
    if (g < groups && d < hd) {
      var c = g;
      for (; c + 3u * groups < chunks; c += 4u * groups) {
        o += vec4<f32>(weights[c], weights[c + groups], weights[c + 2u * groups], weights[c + 3u * groups]) *
          vec4<f32>(partials[base + c * stride + d], partials[base + (c + groups) * stride + d],
                    partials[base + (c + 2u * groups) * stride + d], partials[base + (c + 3u * groups) * stride + d]);
      }
      for (; c < chunks; c += groups) {
        o.x += weights[c] * partials[base + c * stride + d];
      }
    }
    out_sh[lid] = o.x + o.y + o.z + o.w;
    workgroupBarrier();
    if (g == 0u && d < hd) {
      var total = 0.0;
      for (var gg = 0u; gg < groups; gg++) {
        total += out_sh[lid + gg * min(hd, WORKGROUP_SIZE)];
      }
      out[params.out_offset + h * hd + d] = total / l;
    }
    workgroupBarrier();
  }
}
