// vision-attention storage prelude: q/k/v and the output in f32. Compiled before vision-attention.wgsl
// (see its header); indices are in vec4s.

@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;

// One vec4 as stored (see io-f16.wgsl).
alias QkvWord = vec4<f32>;

fn unpack_qkv(words: QkvWord) -> vec4<f32> {
  return words;
}

fn load_qkv(index: u32) -> vec4<f32> {
  return qkv[index];
}

fn store_out(index: u32, value: vec4<f32>) {
  out[index] = value;
}
