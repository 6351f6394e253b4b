// Arithmetic prelude of the vision kernels (linear/vision-linear.wgsl, attention/vision-attention.wgsl): f32 math.
// Compiled after a storage prelude (storage-f32.wgsl or storage-f16.wgsl), whose unpack4 load4 uses.
//   Vec4Math    element type of the kernels' workgroup tiles and of their products
//   load4       storage → Vec4Math
//   SPLIT_SUMS  false: sums of products are never split (see arithmetic-f16.wgsl); SUM_RUN exceeds every loop
//               it bounds, so a loop over runs of SUM_RUN terms makes one pass.

alias Vec4Math = vec4<f32>;

fn load4(v: Vec4Storage) -> Vec4Math {
  return unpack4(v);
}

const SPLIT_SUMS = false;
const SUM_RUN = 0x100000u;
