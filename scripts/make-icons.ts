/**
 * Draws the PWA icons (demo/public/icons/*.png) with code: an indigo tile with a white lens (the "vision")
 * and a speech-bubble tail (the "chat"). Run `npx vite-node scripts/make-icons.ts` after changing the drawing;
 * the PNGs are committed. 4×4 supersampling gives smooth edges.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { REPO_ROOT } from './default-model';

type Rgba = readonly [number, number, number, number];

const INDIGO: Rgba = [59, 91, 219, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const AMBER: Rgba = [255, 192, 60, 255];

/** Colour at (x, y) in unit coordinates [0, 1]²; `maskable` fills the whole square (the OS crops it). */
function shade(x: number, y: number, maskable: boolean): Rgba | null {
  const r = maskable ? 0 : 0.18; // corner radius of the tile
  const cx = Math.min(Math.max(x, r), 1 - r);
  const cy = Math.min(Math.max(y, r), 1 - r);
  if (!maskable && Math.hypot(x - cx, y - cy) > r) return null;
  const scale = maskable ? 0.8 : 1; // maskable icons keep their content inside the safe circle
  const u = (x - 0.5) / scale + 0.5;
  const v = (y - 0.5) / scale + 0.5;
  const d = Math.hypot(u - 0.5, v - 0.46);
  // Speech-bubble tail under the lens, pointing down-left.
  const inTail = v > 0.6 && v < 0.82 && u > 0.3 && u < 0.5 && u - 0.3 > (v - 0.6) * 0.2 && 0.5 - u > (v - 0.6) * 0.9;
  if (d < 0.1) return AMBER;
  if (d < 0.18) return INDIGO;
  if (d < 0.3 || inTail) return WHITE;
  return INDIGO;
}

function drawIcon(sizePx: number, maskable: boolean): Buffer {
  const png = new PNG({ width: sizePx, height: sizePx });
  const ss = 4;
  for (let py = 0; py < sizePx; py++) {
    for (let px = 0; px < sizePx; px++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = shade((px + (sx + 0.5) / ss) / sizePx, (py + (sy + 0.5) / ss) / sizePx, maskable);
          if (!c) continue;
          for (let k = 0; k < 3; k++) acc[k] = (acc[k] ?? 0) + (c[k] ?? 0) * ((c[3] ?? 0) / 255);
          acc[3] = (acc[3] ?? 0) + (c[3] ?? 0);
        }
      }
      const alpha = (acc[3] ?? 0) / (ss * ss);
      const o = (py * sizePx + px) * 4;
      for (let k = 0; k < 3; k++) png.data[o + k] = alpha > 0 ? Math.round(((acc[k] ?? 0) / (ss * ss)) * (255 / alpha)) : 0;
      png.data[o + 3] = Math.round(alpha);
    }
  }
  return PNG.sync.write(png);
}

const dir = join(REPO_ROOT, 'demo/public/icons');
mkdirSync(dir, { recursive: true });
for (const [name, size, maskable] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['icon-maskable-512.png', 512, true],
  ['apple-touch-icon-180.png', 180, true],
] as const) {
  writeFileSync(join(dir, name), drawIcon(size, maskable));
  console.log(`wrote demo/public/icons/${name}`);
}
