// Head-unit prelude of decode-attention.wgsl: heads read in vec2s, for head sizes that are even (as Llama's RoPE
// needs) but not multiples of 4 (e.g. 18): a KV row of head_dim elements then starts on a vec2 (f32) or u32 (f16
// pair) boundary, never reliably on a vec4 one. Same names as head-unit-4.wgsl.

alias HVec = vec2<f32>;
alias HalfUnit = u32;
const UNIT: u32 = 2u;

fn unpack_half_unit(w: HalfUnit) -> HVec {
  return unpack2x16float(w);
}

fn pack_half_unit(v: HVec) -> HalfUnit {
  return pack2x16float(v);
}

fn qkv_unit(base: u32) -> HVec {
  return vec2<f32>(qkv[base], qkv[base + 1u]);
}

// Partials words i, i + 1 (atomic loads: written by other workgroups of this dispatch).
fn partial_unit(i: u32) -> HVec {
  return vec2<f32>(bitcast<f32>(atomicLoad(&partials[i])), bitcast<f32>(atomicLoad(&partials[i + 1u])));
}

fn store_partial_unit(i: u32, v: HVec) {
  atomicStore(&partials[i], bitcast<u32>(v.x));
  atomicStore(&partials[i + 1u], bitcast<u32>(v.y));
}

fn store_out_unit(i: u32, v: HVec) {
  out[i] = v.x;
  out[i + 1u] = v.y;
}
