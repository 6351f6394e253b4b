// Head-unit prelude of decode-attention.wgsl: heads read in vec4s (head_dim % 4 = 0, every Llama size in use).
// Compiled first; defines HVec (one unit of a head in registers), UNIT (its elements), HalfUnit (a unit of f16
// elements as u32 pairs, for the f16 KV prelude) and the unit loads and stores of the kernel's f32 buffers.

alias HVec = vec4<f32>;
alias HalfUnit = vec2<u32>;
const UNIT: u32 = 4u;

fn unpack_half_unit(w: HalfUnit) -> HVec {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn pack_half_unit(v: HVec) -> HalfUnit {
  return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));
}

fn qkv_unit(base: u32) -> HVec {
  return vec4<f32>(qkv[base], qkv[base + 1u], qkv[base + 2u], qkv[base + 3u]);
}

// Partials words i .. i + 3 (atomic loads: written by other workgroups of this dispatch).
fn partial_unit(i: u32) -> HVec {
  return vec4<f32>(bitcast<f32>(atomicLoad(&partials[i])), bitcast<f32>(atomicLoad(&partials[i + 1u])),
                   bitcast<f32>(atomicLoad(&partials[i + 2u])), bitcast<f32>(atomicLoad(&partials[i + 3u])));
}

fn store_partial_unit(i: u32, v: HVec) {
  atomicStore(&partials[i], bitcast<u32>(v.x));
  atomicStore(&partials[i + 1u], bitcast<u32>(v.y));
  atomicStore(&partials[i + 2u], bitcast<u32>(v.z));
  atomicStore(&partials[i + 3u], bitcast<u32>(v.w));
}

fn store_out_unit(i: u32, v: HVec) {
  out[i] = v.x;
  out[i + 1u] = v.y;
  out[i + 2u] = v.z;
  out[i + 3u] = v.w;
}
