// decode-attention-fixed-combine — pass 2 of the earlier split-K decode attention (the bench baseline).
//
// Bindings
//   0 params    uniform { heads, head_dim, max_len, max_chunks, out_offset, _, _, _ }
//   1 step      uniform { position }
//   2 partials  storage read f32 [heads, max_chunks, head_dim + 2]  (o, m, l) from decode-attention.wgsl
//   3 out       storage read_write f32, out[h] at out_offset + h · head_dim
// Math: M = max_c m_c;  w_c = exp(m_c − M);  out[h, d] = Σ_c w_c · o_c[d] / Σ_c w_c · l_c
// Dispatch: one workgroup per head (linear id = wid.x + wid.y · num_workgroups.x).
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

struct Step {
  position: u32,
}

override WORKGROUP_SIZE: u32 = 64u;
override CHUNK: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let h = wid.x + wid.y * nwg.x;
  if (h >= params.heads) {
    return;
  }
  let length = min(step.position, params.max_len - 1u) + 1u;
  let chunks = (length + CHUNK - 1u) / CHUNK;
  let hd = params.head_dim;
  let stride = hd + 2u;
  let base = h * params.max_chunks * stride;
  var m = -3.4e38;
  for (var c = 0u; c < chunks; c++) {
    m = max(m, partials[base + c * stride + hd]);
  }
  var l = 0.0;
  for (var c = 0u; c < chunks; c++) {
    l += exp(partials[base + c * stride + hd] - m) * partials[base + c * stride + hd + 1u];
  }
  for (var d = lid; d < hd; d += WORKGROUP_SIZE) {
    var o = 0.0;
    for (var c = 0u; c < chunks; c++) {
      o += exp(partials[base + c * stride + hd] - m) * partials[base + c * stride + d];
    }
    out[params.out_offset + h * hd + d] = o / l;
  }
}
