// Scales prelude of int4-gemv.wgsl: f32 scales (q4f32 packages), one per word. Compiled before the kernel body,
// which declares scales, scales2, scales3 as array<ScaleWord> and reads scale i as
// scale_value(scales[scale_word(i)], i).

alias ScaleWord = f32;

fn scale_word(i: u32) -> u32 {
  return i;
}

fn scale_value(word: ScaleWord, i: u32) -> f32 {
  return word;
}
