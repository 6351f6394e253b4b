/**
 * Benchmark of the image path on the CPU: a 12-megapixel photo (4000×3000) to patches, the way the worker
 * does it after the browser has decoded the file (convert to RGB, smart_resize, Pillow-exact resize,
 * rescale/normalize, flatten). Node decoding (pngjs / jpeg-js) is timed separately: in the browser
 * createImageBitmap does that part natively.
 *
 *   npx vite-node bench/processor-image.bench.ts -- [--image file.png|file.jpg] [--max-pixels 1003520,2458624] [--resample bicubic] [--reps 5] [--out file.json]
 *
 * Default image: export/reference/fixtures/processor-image/inputs/huge-4000x3000.png. The work does not
 * depend on the pixel values, only on the sizes. Prints the median of `reps` runs per budget.
 * Hugging Face's time for the same image: `python3 export/reference/processor_image.py --bench IMAGE`
 * (GPU machine). To run there without node_modules, bundle this file with `vite build --ssr` and carry a
 * Node binary (see ../shared/gpu/README.md).
 */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeImageBytes } from '../src/processor/image/decode-image-node';
import { planImage, preprocessImages } from '../src/processor/image/preprocess-images';
import { resizeRgb } from '../src/processor/image/resize';
import { toRgb8 } from '../src/processor/image/to-rgb';
import { QWEN2_VL_IMAGE_DEFAULTS, type ResampleFilter } from '../src/protocol/model-spec';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(reps: number, fn: () => void): number {
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

const imagePath = arg('image') ?? new URL('../export/reference/fixtures/processor-image/inputs/huge-4000x3000.png', import.meta.url).pathname;
const budgets = (arg('max-pixels') ?? `${QWEN2_VL_IMAGE_DEFAULTS.maxPixels},2458624,12845056`).split(',').map(Number);
const resample = (arg('resample') ?? 'bicubic') as ResampleFilter;
const reps = Number(arg('reps') ?? 5);

const bytes = new Uint8Array(readFileSync(imagePath));
const decodeMs = time(Math.min(reps, 3), () => decodeImageBytes(bytes, 0));
const image = decodeImageBytes(bytes, 0);
const rows: Record<string, number | string>[] = [];
console.log(`image ${imagePath} ${image.width}×${image.height}, ${image.channels} ch, ${image.bitDepth}-bit; Node decode ${decodeMs.toFixed(1)} ms`);
for (const maxPixels of budgets) {
  const spec = { ...QWEN2_VL_IMAGE_DEFAULTS, maxPixels, resample };
  const plan = planImage(image.height, image.width, spec);
  const rgb = toRgb8(image);
  const convertMs = time(reps, () => toRgb8(image));
  const resizeMs = time(reps, () => resizeRgb(rgb, plan.resizedWidth, plan.resizedHeight, resample));
  const totalMs = time(reps, () => preprocessImages([image], spec));
  const row = {
    maxPixels,
    resized: `${plan.resizedWidth}x${plan.resizedHeight}`,
    patches: plan.grid.h * plan.grid.w,
    tokens: plan.tokenCount,
    convertMs: +convertMs.toFixed(1),
    resizeMs: +resizeMs.toFixed(1),
    totalMs: +totalMs.toFixed(1),
  };
  rows.push(row);
  console.log(
    `maxPixels ${String(maxPixels).padStart(9)}  → ${row.resized.padEnd(10)} ${String(row.patches).padStart(6)} patches  ` +
      `toRgb ${row.convertMs} ms  resize ${row.resizeMs} ms  total (to patches) ${row.totalMs} ms`,
  );
}
const out = arg('out');
if (out) {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout (e.g. the GPU machine's copy): keep 'unknown'
  }
  writeFileSync(out, JSON.stringify({ bench: 'processor-image', commit, node: process.version, image: imagePath, resample, decodeMs, rows }, null, 2));
}
