/**
 * What happens to a picture on its way to a user (issue 16), applied to rendered scenes so the trained model
 * sees it in training: Gaussian blur, additive Gaussian noise, and a baseline JPEG round trip (YCbCr, 4:2:0
 * chroma, 8×8 DCT quantised with the JPEG standard's example tables (ITU-T T.81 Annex K) scaled to a quality
 * the way the IJG library does). The JPEG round trip reproduces the lossy steps only (no entropy coding: it
 * is lossless), so its output is what a decoder would show for such a file. All RGB8, tightly packed rows.
 */
import { seededRandom, type PictureEffects } from './shapes-scene';

/** Applies `effects` in the order blur → noise → JPEG; returns a new buffer (or `rgb` itself when none apply). */
export function applyEffects(rgb: Uint8Array, width: number, height: number, effects: PictureEffects): Uint8Array {
  let out = rgb;
  if (effects.blurSigma !== undefined && effects.blurSigma > 0) out = gaussianBlur(out, width, height, effects.blurSigma);
  if (effects.noiseSigma !== undefined && effects.noiseSigma > 0) out = addNoise(out, effects.noiseSigma, effects.noiseSeed ?? 0);
  if (effects.jpegQuality !== undefined) out = jpegRoundTrip(out, width, height, effects.jpegQuality);
  return out;
}

const clamp8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** Rounded and clamped to 0…255 (a plain loop: TypedArray.from with a map function is ~25× slower in V8). */
function toBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = clamp8(values[i] as number);
  return out;
}

/** Separable Gaussian blur, radius ⌈3σ⌉, edges clamped. */
export function gaussianBlur(rgb: Uint8Array, width: number, height: number, sigma: number): Uint8Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const taps = 2 * radius + 1;
  const weights = new Float64Array(taps);
  let sum = 0;
  for (let i = 0; i < taps; i++) sum += weights[i] = Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < taps; i++) weights[i] = (weights[i] as number) / sum;
  // One pass along x (stride 3) or y (stride 3·width): each line copied with clamped edges, then convolved.
  const pass = (src: Float32Array, stride: number, count: number, lineStarts: Int32Array): Float32Array => {
    const dst = new Float32Array(src.length);
    const line = new Float64Array(count + 2 * radius);
    for (const base of lineStarts) {
      for (let c = 0; c < 3; c++) {
        for (let j = 0; j < line.length; j++) line[j] = src[base + Math.min(count - 1, Math.max(0, j - radius)) * stride + c] as number;
        for (let i = 0; i < count; i++) {
          let acc = 0;
          for (let k = 0; k < taps; k++) acc += (weights[k] as number) * (line[i + k] as number);
          dst[base + i * stride + c] = acc;
        }
      }
    }
    return dst;
  };
  const rows = Int32Array.from({ length: height }, (_, y) => y * width * 3);
  const columns = Int32Array.from({ length: width }, (_, x) => x * 3);
  const blurred = pass(pass(Float32Array.from(rgb), 3, width, rows), 3 * width, height, columns);
  return toBytes(blurred);
}

/** Adds N(0, σ²) to every channel of every pixel (Box–Muller on a seeded generator). */
export function addNoise(rgb: Uint8Array, sigma: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    out[i] = clamp8((rgb[i] ?? 0) + sigma * gaussian);
  }
  return out;
}

/** ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), in row-major order. */
const LUMA_TABLE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81,
  104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_TABLE = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/** The table for `quality` (1–100): the IJG scaling (5000/q below 50, 200−2q from 50), entries in 1…255. */
export function quantTable(base: readonly number[], quality: number): number[] {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  return base.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

/** cos((2x+1)uπ/16) · C(u)/2, indexed [u·8 + x]: the 8-point DCT-II basis with JPEG's normalisation. */
const DCT_BASIS = Float64Array.from({ length: 64 }, (_, i) => {
  const u = Math.floor(i / 8);
  const x = i % 8;
  return (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** Forward DCT, quantise, dequantise, inverse DCT of one level-shifted 8×8 block, in place. */
const tmp = new Float64Array(64);
const coef = new Float64Array(64);

function quantiseBlock(block: Float64Array, table: readonly number[]): void {
  for (let y = 0; y < 8; y++) for (let u = 0; u < 8; u++) {
    let acc = 0;
    for (let x = 0; x < 8; x++) acc += (DCT_BASIS[u * 8 + x] ?? 0) * (block[y * 8 + x] ?? 0);
    tmp[y * 8 + u] = acc;
  }
  for (let v = 0; v < 8; v++) for (let u = 0; u < 8; u++) {
    let acc = 0;
    for (let y = 0; y < 8; y++) acc += (DCT_BASIS[v * 8 + y] ?? 0) * (tmp[y * 8 + u] ?? 0);
    const step = table[v * 8 + u] ?? 1;
    coef[v * 8 + u] = Math.round(acc / step) * step;
  }
  for (let v = 0; v < 8; v++) for (let x = 0; x < 8; x++) {
    let acc = 0;
    for (let u = 0; u < 8; u++) acc += (DCT_BASIS[u * 8 + x] ?? 0) * (coef[v * 8 + u] ?? 0);
    tmp[v * 8 + x] = acc;
  }
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
    let acc = 0;
    for (let v = 0; v < 8; v++) acc += (DCT_BASIS[v * 8 + y] ?? 0) * (tmp[v * 8 + x] ?? 0);
    block[y * 8 + x] = acc;
  }
}

/** Every 8×8 block of a plane (w×h, edge-padded to whole blocks) through quantiseBlock. */
function quantisePlane(plane: Float64Array, w: number, h: number, table: readonly number[]): void {
  const block = new Float64Array(64);
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
        block[y * 8 + x] = (plane[Math.min(h - 1, by + y) * w + Math.min(w - 1, bx + x)] ?? 0) - 128;
      }
      quantiseBlock(block, table);
      for (let y = 0; y < 8 && by + y < h; y++) for (let x = 0; x < 8 && bx + x < w; x++) {
        plane[(by + y) * w + bx + x] = (block[y * 8 + x] ?? 0) + 128;
      }
    }
  }
}

/**
 * A baseline JPEG's lossy steps at `quality`: JFIF RGB→YCbCr, chroma averaged over 2×2 pixels, every plane's
 * 8×8 blocks quantised in the DCT domain, chroma brought back by pixel replication, YCbCr→RGB.
 */
export function jpegRoundTrip(rgb: Uint8Array, width: number, height: number, quality: number): Uint8Array {
  const n = width * height;
  const yPlane = new Float64Array(n);
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const cb = new Float64Array(cw * ch);
  const cr = new Float64Array(cw * ch);
  const counts = new Float64Array(cw * ch);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      const r = rgb[p] ?? 0;
      const g = rgb[p + 1] ?? 0;
      const b = rgb[p + 2] ?? 0;
      yPlane[y * width + x] = 0.299 * r + 0.587 * g + 0.114 * b;
      const c = (y >> 1) * cw + (x >> 1);
      cb[c] = (cb[c] ?? 0) + 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
      cr[c] = (cr[c] ?? 0) + 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
      counts[c] = (counts[c] ?? 0) + 1;
    }
  }
  for (let c = 0; c < cw * ch; c++) {
    cb[c] = (cb[c] ?? 0) / (counts[c] ?? 1);
    cr[c] = (cr[c] ?? 0) / (counts[c] ?? 1);
  }
  quantisePlane(yPlane, width, height, quantTable(LUMA_TABLE, quality));
  const chroma = quantTable(CHROMA_TABLE, quality);
  quantisePlane(cb, cw, ch, chroma);
  quantisePlane(cr, cw, ch, chroma);
  const out = new Uint8Array(n * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = yPlane[y * width + x] ?? 0;
      const c = (y >> 1) * cw + (x >> 1);
      const b = (cb[c] ?? 128) - 128;
      const r = (cr[c] ?? 128) - 128;
      const p = (y * width + x) * 3;
      out[p] = clamp8(l + 1.402 * r);
      out[p + 1] = clamp8(l - 0.344136 * b - 0.714136 * r);
      out[p + 2] = clamp8(l + 1.772 * b);
    }
  }
  return out;
}
