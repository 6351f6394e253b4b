enable f16;

// Arithmetic prelude of the vision kernels (linear/vision-linear.wgsl, attention/vision-attention.wgsl) for adapters
// with `shader-f16`: products and short sums in f16. It must open the module (`enable` precedes every declaration)
// and it is also the storage prelude: f16 arithmetic runs on f16 storage only, read and written as vec4<f16> (the
// same bytes as storage-f16.wgsl's packed pairs, without the unpack).
//   Vec4Storage, unpack4, pack4   as in storage-f16.wgsl (unpack4 widens exactly; pack4 rounds to nearest)
//   Vec4Math    element type of the kernels' workgroup tiles and of their products: vec4<f16>
//   load4       storage → Vec4Math (no conversion)
//   SPLIT_SUMS  true: a sum of products is kept in f16 for at most SUM_RUN products, then added into an f32 total.
// Why runs of 16: a sum of n products in f16 is off by at most ≈ n · 2^-11 of Σ|terms| (one rounding per step),
// so one f16 sum over the dense layers' K = 1280…5120 could lose every digit, while 16 terms cost at most
// ≈ 0.8 % of the run's Σ|terms| (typically √16 · 2^-12 ≈ 0.1 %, the size of the f16 rounding of the inputs
// themselves) and the f32 totals add nothing measurable. Maxima, exponentials, softmax sums, LayerNorm statistics,
// biases, activations and residual adds stay f32 in every kernel.

alias Vec4Storage = vec4<f16>;
alias Vec4Math = vec4<f16>;

fn unpack4(v: Vec4Storage) -> vec4<f32> {
  return vec4<f32>(v);
}

fn pack4(v: vec4<f32>) -> Vec4Storage {
  return Vec4Storage(v);
}

fn load4(v: Vec4Storage) -> Vec4Math {
  return v;
}

const SPLIT_SUMS = true;
const SUM_RUN = 16u;
