/**
 * Procedural scenes for the trained default model (issue 8): one to three simple shapes in named colours,
 * each in its own cell of a 3×3 grid (so "where" has one right answer), on a plain or softly graded
 * background. Deterministic from a seed; rendered into an RGB8 buffer with supersampled edges.
 *
 * Two kinds (issue 16): makeScene, the original pictures (112–224 px, mid-tone backgrounds, 4×4 supersampling),
 * and makeVariedScene, pictures the model did not draw itself: other sizes and aspect ratios, any background
 * (white, near-white, dark, any colour), edges from aliased to finely antialiased, and picture effects
 * (picture-effects.ts: blur, noise, JPEG). Colour answers stay well-defined: a shape never takes a colour
 * whose nominal RGB is within BACKGROUND_MIN_DISTANCE of the background's (no white shapes on white).
 */

export const SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export type ShapeKind = (typeof SHAPES)[number];

export const COLOURS = ['red', 'blue', 'green', 'yellow', 'white', 'black'] as const;
export type ColourName = (typeof COLOURS)[number];

/** Cells of the 3×3 grid in reading order: index = row * 3 + column. */
export const POSITIONS = ['top-left', 'top', 'top-right', 'left', 'center', 'right', 'bottom-left', 'bottom', 'bottom-right'] as const;
export type PositionName = (typeof POSITIONS)[number];

/** Nominal sRGB of each colour; every object gets ±18 per channel of jitter around it. */
const COLOUR_RGB: Readonly<Record<ColourName, readonly [number, number, number]>> = {
  red: [220, 35, 35],
  blue: [35, 75, 225],
  green: [35, 165, 60],
  yellow: [240, 215, 30],
  white: [248, 248, 248],
  black: [18, 18, 18],
};

/** Mid-tone backgrounds that none of the six colours can be mistaken for (the original scenes). */
const BACKGROUNDS: readonly (readonly [number, number, number])[] = [
  [128, 128, 128],
  [105, 115, 130],
  [150, 138, 120],
  [112, 138, 118],
  [140, 120, 140],
  [160, 160, 165],
  [95, 95, 100],
];

export interface SceneObject {
  readonly shape: ShapeKind;
  readonly colour: ColourName;
  readonly position: PositionName;
  /** Centre and circumradius in pixels; rotation in radians. */
  readonly centreX: number;
  readonly centreY: number;
  readonly radius: number;
  readonly rotation: number;
  readonly rgb: readonly [number, number, number];
}

/** Post-processing of a rendered scene (picture-effects.ts); absent values mean the effect is off. */
export interface PictureEffects {
  /** Gaussian blur, standard deviation in pixels. */
  readonly blurSigma?: number;
  /** Additive Gaussian noise, standard deviation in 8-bit levels; seeded by noiseSeed. */
  readonly noiseSigma?: number;
  readonly noiseSeed?: number;
  /** JPEG quality (1–100) of a 4:2:0 baseline JPEG round trip. */
  readonly jpegQuality?: number;
}

export interface Scene {
  readonly width: number;
  readonly height: number;
  readonly background: readonly [number, number, number];
  /** Background brightness change from top to bottom (0 = flat). */
  readonly gradient: number;
  /** Objects in reading order of their cells. */
  readonly objects: readonly SceneObject[];
  /** Edge samples per pixel side (1 = aliased); 4 when absent. */
  readonly supersample?: number;
  /** Applied after rendering (datasetItem); none when absent. */
  readonly effects?: PictureEffects;
}

/** splitmix32-style generator: floats in [0, 1), the same sequence for the same seed in every JS engine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z = (z ^ (z >>> 15)) >>> 0;
    return z / 2 ** 32;
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const between = (random: () => number, low: number, high: number): number => low + (high - low) * random();

/** Fisher–Yates on a copy. */
function shuffled<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** How placeShapes draws each shape: its cell, the colours it may take, its radius as a fraction of the cell's
 * shorter side, and its largest rotation (radians; circles are never rotated). */
interface Placement {
  readonly shapes: readonly ShapeKind[];
  readonly cells: readonly number[];
  readonly width: number;
  readonly height: number;
  readonly colours: readonly ColourName[];
  readonly radius: readonly [number, number];
  readonly maxRotation: number;
}

/** Shape i in cell i of the 3 × 3 grid, jittered within its cell, in reading order of their places. The random draws
 * (colour, radius, RGB jitter, centre, rotation, per shape) are in a fixed order: the committed datasets depend on it. */
function placeShapes(random: () => number, p: Placement): SceneObject[] {
  const cellW = p.width / 3;
  const cellH = p.height / 3;
  const objects: SceneObject[] = p.shapes.map((shape, i) => {
    const cell = p.cells[i] ?? 0;
    const colour = pick(random, p.colours);
    const radius = Math.min(cellW, cellH) * between(random, p.radius[0], p.radius[1]);
    const slackX = Math.max(0, cellW / 2 - radius) * 0.6;
    const slackY = Math.max(0, cellH / 2 - radius) * 0.6;
    const rgb = COLOUR_RGB[colour].map((c) => Math.max(0, Math.min(255, Math.round(c + between(random, -18, 18))))) as unknown as [number, number, number];
    return {
      shape,
      colour,
      position: POSITIONS[cell] ?? 'center',
      centreX: ((cell % 3) + 0.5) * cellW + between(random, -slackX, slackX),
      centreY: (Math.floor(cell / 3) + 0.5) * cellH + between(random, -slackY, slackY),
      radius,
      rotation: shape === 'circle' ? 0 : between(random, -p.maxRotation, p.maxRotation),
      rgb,
    };
  });
  objects.sort((a, b) => POSITIONS.indexOf(a.position) - POSITIONS.indexOf(b.position));
  return objects;
}

/**
 * The scene for `seed`: 112–224 px sides (any aspect ratio in that box), 1–3 objects with distinct shapes
 * in distinct cells; colours may repeat. Objects fill 50–90 % of their cell's smaller side.
 */
export function makeScene(seed: number): Scene {
  const random = seededRandom(seed);
  const width = 112 + Math.floor(random() * 113);
  const height = 112 + Math.floor(random() * 113);
  const base = pick(random, BACKGROUNDS);
  const background = base.map((c) => Math.round(c + between(random, -10, 10))) as unknown as [number, number, number];
  const gradient = random() < 0.4 ? between(random, -30, 30) : 0;
  const count = 1 + Math.floor(random() * 3);
  const shapes = shuffled(random, SHAPES).slice(0, count);
  const cells = shuffled(random, [0, 1, 2, 3, 4, 5, 6, 7, 8]).slice(0, count);
  const objects = placeShapes(random, { shapes, cells, width, height, colours: COLOURS, radius: [0.25, 0.45], maxRotation: 0.3 });
  return { width, height, background, gradient, objects };
}

/** A shape colour must be at least this far (RGB Euclidean, nominal values) from the background. */
export const BACKGROUND_MIN_DISTANCE = 120;

/** Nominal RGB of a colour name (objects get ±18 per channel of jitter around it). */
export const nominalRgb = (colour: ColourName): readonly [number, number, number] => COLOUR_RGB[colour];

const rgbDistance = (a: readonly number[], b: readonly number[]): number => Math.hypot((a[0] ?? 0) - (b[0] ?? 0), (a[1] ?? 0) - (b[1] ?? 0), (a[2] ?? 0) - (b[2] ?? 0));

/** Any background: white and near-white, light, dark, the original mid-tones, or any colour at all. */
function variedBackground(random: () => number): [number, number, number] {
  const r = random();
  const grey = (low: number, high: number, tint: number): [number, number, number] => {
    const g = between(random, low, high);
    return [0, 1, 2].map(() => Math.max(0, Math.min(255, Math.round(g + between(random, -tint, tint))))) as unknown as [number, number, number];
  };
  if (r < 0.25) return random() < 0.4 ? [255, 255, 255] : grey(236, 255, 5);
  if (r < 0.4) return grey(170, 236, 18);
  if (r < 0.5) return grey(0, 70, 10);
  if (r < 0.75) return pick(random, BACKGROUNDS).map((c) => Math.round(c + between(random, -10, 10))) as unknown as [number, number, number];
  return [0, 1, 2].map(() => Math.floor(random() * 256)) as unknown as [number, number, number];
}

/** Colours a shape may take on `background`: those far enough from it that the answer is not in doubt. */
export function coloursFor(background: readonly number[]): ColourName[] {
  return COLOURS.filter((c) => rgbDistance(COLOUR_RGB[c], background) >= BACKGROUND_MIN_DISTANCE);
}

/**
 * A scene the original generator would not draw (issue 16): area 100²…448² px (log-uniform), aspect ratio up
 * to 2.2 either way, every side ≥ 84 px (three rows of image tokens after the processor's resize); any
 * background (variedBackground), shape colours that stand apart from it (coloursFor); 1, 2, 4 or 8 edge
 * samples per pixel side; blur (35 %), noise (35 %) and JPEG (45 %) each independently. The same 3×3 grid,
 * distinct shapes and cells as makeScene, so the same questions have one right answer.
 */
export function makeVariedScene(seed: number): Scene {
  const random = seededRandom(seed ^ 0x2c1b3c6d);
  const area = Math.exp(between(random, Math.log(100 * 100), Math.log(448 * 448)));
  const ratio = Math.exp(between(random, -Math.log(2.2), Math.log(2.2)));
  const width = Math.max(84, Math.round(Math.sqrt(area * ratio)));
  const height = Math.max(84, Math.round(Math.sqrt(area / ratio)));
  const background = variedBackground(random);
  const gradient = random() < 0.3 ? between(random, -25, 25) : 0;
  const allowed = coloursFor(background);
  const count = 1 + Math.floor(random() * 3);
  const shapes = shuffled(random, SHAPES).slice(0, count);
  const cells = shuffled(random, [0, 1, 2, 3, 4, 5, 6, 7, 8]).slice(0, count);
  const objects = placeShapes(random, { shapes, cells, width, height, colours: allowed, radius: [0.28, 0.46], maxRotation: 0.4 });
  const supersample = pick(random, [1, 2, 4, 8]);
  const effects: PictureEffects = {
    ...(random() < 0.35 ? { blurSigma: between(random, 0.4, 1.2) } : {}),
    ...(random() < 0.35 ? { noiseSigma: between(random, 2, 8), noiseSeed: Math.floor(random() * 2 ** 31) } : {}),
    ...(random() < 0.45 ? { jpegQuality: Math.round(between(random, 25, 95)) } : {}),
  };
  return { width, height, background, gradient, objects, supersample, effects };
}

/** Star outline: 5 outer points at `radius`, 5 inner at 0.45·radius, the first pointing up. */
const STAR_VERTICES: readonly (readonly [number, number])[] = Array.from({ length: 10 }, (_, k) => {
  const r = k % 2 === 0 ? 1 : 0.45;
  const a = -Math.PI / 2 + (k * Math.PI) / 5;
  return [r * Math.cos(a), r * Math.sin(a)] as const;
});

function insidePolygon(x: number, y: number, vertices: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = vertices.length - 1; i < vertices.length; j = i++) {
    const [xi, yi] = vertices[i] ?? [0, 0];
    const [xj, yj] = vertices[j] ?? [0, 0];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const TRIANGLE_VERTICES: readonly (readonly [number, number])[] = [0, 1, 2].map((k) => {
  const a = -Math.PI / 2 + (k * 2 * Math.PI) / 3;
  return [Math.cos(a), Math.sin(a) * 1.0 + 0.15] as const;
});

/** Whether the unit-scaled, unrotated point (x, y) (object centre at 0, radius 1) is inside `shape`. */
function insideShape(shape: ShapeKind, x: number, y: number): boolean {
  switch (shape) {
    case 'circle':
      return x * x + y * y <= 0.85 * 0.85;
    case 'square':
      return Math.abs(x) <= 0.72 && Math.abs(y) <= 0.72;
    case 'triangle':
      return insidePolygon(x, y, TRIANGLE_VERTICES);
    case 'star':
      return insidePolygon(x, y, STAR_VERTICES);
  }
}

/** Renders `scene` into tightly packed RGB8 rows (width·height·3 bytes). */
export function renderScene(scene: Scene): Uint8Array {
  const { width, height, background, gradient, objects } = scene;
  const samples = scene.supersample ?? 4;
  const adaptive = scene.supersample !== undefined && samples > 1;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const shade = gradient * (y / (height - 1) - 0.5);
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) rgb[o + c] = Math.max(0, Math.min(255, Math.round((background[c] ?? 0) + shade)));
    }
  }
  for (const obj of objects) {
    const cos = Math.cos(obj.rotation);
    const sin = Math.sin(obj.rotation);
    // Whether image point (px, py) is inside the object: rotated back into the shape's own frame.
    const inside = (px: number, py: number): boolean => {
      const dx = (px - obj.centreX) / obj.radius;
      const dy = (py - obj.centreY) / obj.radius;
      return insideShape(obj.shape, cos * dx + sin * dy, -sin * dx + cos * dy);
    };
    const x0 = Math.max(0, Math.floor(obj.centreX - obj.radius - 1));
    const x1 = Math.min(width - 1, Math.ceil(obj.centreX + obj.radius + 1));
    const y0 = Math.max(0, Math.floor(obj.centreY - obj.radius - 1));
    const y1 = Math.min(height - 1, Math.ceil(obj.centreY + obj.radius + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        let hits = 0;
        // Varied scenes: a pixel whose four corners and centre agree is taken as wholly in or out (shape
        // features are wider than a pixel), which keeps 8×8 supersampling cheap on large pictures. The
        // original scenes sample every pixel fully, so their pictures stay as they were.
        if (adaptive) {
          const corners = [[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.5]].reduce((n, [ox, oy]) => n + (inside(x + (ox ?? 0), y + (oy ?? 0)) ? 1 : 0), 0);
          if (corners === 0) continue;
          if (corners === 5) hits = samples * samples;
        }
        if (hits === 0) for (let sy = 0; sy < samples; sy++) {
          for (let sx = 0; sx < samples; sx++) {
            if (inside(x + (sx + 0.5) / samples, y + (sy + 0.5) / samples)) hits++;
          }
        }
        if (hits === 0) continue;
        const alpha = hits / (samples * samples);
        const o = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) rgb[o + c] = Math.round((rgb[o + c] ?? 0) * (1 - alpha) + (obj.rgb[c] ?? 0) * alpha);
      }
    }
  }
  return rgb;
}
