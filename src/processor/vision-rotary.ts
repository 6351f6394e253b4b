/**
 * Position tables for the vision tower's 2-D rotary embedding (Qwen2-VL `rot_pos_emb`).
 *
 * Patches are ordered by 2×2 merge window: row r ↔ (bh, bw, mh, mw) with patch row h = 2·bh + mh and
 * column w = 2·bw + mw. With head_dim D, half = D/2 rotation pairs; inv_freq has half/2 entries
 * 1 / θ^(2j/half); pair j < half/2 turns by h·inv_freq[j], pair j ≥ half/2 by w·inv_freq[j − half/2].
 */

/** One image's patch grid (temporal × height × width, in 14-px patches). */
export interface PatchGrid {
  readonly t: number;
  readonly h: number;
  readonly w: number;
}

export interface VisionRotaryTables {
  /** cos of each pair's angle, [patches, headDim / 2] row-major. */
  readonly cos: Float32Array;
  readonly sin: Float32Array;
  readonly patches: number;
  readonly pairs: number;
}

/** Patch row and column of every patch, in merge-window order, all images concatenated: [patches, 2]. */
export function patchPositions(grids: readonly PatchGrid[], mergeSize = 2): Int32Array {
  const total = grids.reduce((n, g) => n + g.t * g.h * g.w, 0);
  const out = new Int32Array(total * 2);
  let r = 0;
  for (const { t, h, w } of grids) {
    for (let frame = 0; frame < t; frame++) {
      for (let bh = 0; bh < h / mergeSize; bh++) {
        for (let bw = 0; bw < w / mergeSize; bw++) {
          for (let mh = 0; mh < mergeSize; mh++) {
            for (let mw = 0; mw < mergeSize; mw++) {
              out[2 * r] = bh * mergeSize + mh;
              out[2 * r + 1] = bw * mergeSize + mw;
              r++;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * cos/sin tables for all patches of `grids`. Angles follow PyTorch's float32 arithmetic: inv_freq is
 * rounded to f32, then position · inv_freq is rounded to f32 before cos/sin.
 */
export function visionRotaryTables(grids: readonly PatchGrid[], headDim: number, theta = 10000, mergeSize = 2): VisionRotaryTables {
  const pairs = headDim / 2;
  const freqs = pairs / 2;
  const invFreq = new Float32Array(freqs);
  for (let j = 0; j < freqs; j++) invFreq[j] = 1 / Math.pow(theta, Math.fround((2 * j) / pairs));
  const positions = patchPositions(grids, mergeSize);
  const patches = positions.length / 2;
  const cos = new Float32Array(patches * pairs);
  const sin = new Float32Array(patches * pairs);
  for (let r = 0; r < patches; r++) {
    const hPos = positions[2 * r] ?? 0;
    const wPos = positions[2 * r + 1] ?? 0;
    for (let j = 0; j < pairs; j++) {
      const pos = j < freqs ? hPos : wPos;
      const angle = Math.fround(pos * (invFreq[j % freqs] ?? 0));
      cos[r * pairs + j] = Math.cos(angle);
      sin[r * pairs + j] = Math.sin(angle);
    }
  }
  return { cos, sin, patches, pairs };
}

/**
 * Attention blocks of Qwen2-VL's vision tower for these images, as HF computes `cu_seqlens`: one block per
 * temporal frame of each image (h·w patches, repeated t times), prefix-summed, starting at 0. Still images have
 * t = 1, so this is one block per image.
 */
export function visionCuSeqlens(grids: readonly PatchGrid[]): number[] {
  const out = [0];
  let total = 0;
  for (const { t, h, w } of grids) {
    for (let frame = 0; frame < t; frame++) {
      total += h * w;
      out.push(total);
    }
  }
  return out;
}
