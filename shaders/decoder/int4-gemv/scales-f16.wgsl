// Scales prelude of int4-gemv.wgsl: f16 scales (q4f16 packages), two per little-endian u32 word (scale 2w in the
// low half). Needs no `shader-f16` feature: the word is widened to f32 by unpack2x16float (exact); the
// arithmetic is f32 as with f32 scales. The buffer's last odd scale shares a word with padding (weight buffers
// are sized up to whole words).

alias ScaleWord = u32;

fn scale_word(i: u32) -> u32 {
  return i / 2u;
}

fn scale_value(word: ScaleWord, i: u32) -> f32 {
  let pair = unpack2x16float(word);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}
