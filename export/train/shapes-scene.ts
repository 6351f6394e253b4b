/**
 * Procedural scenes for the trained default model (issue 8): one to three simple shapes in named colours,
 * each in its own cell of a 3×3 grid (so "where" has one right answer), on a plain or softly graded
 * background. Deterministic from a seed; rendered into an RGB8 buffer with 4×4 supersampled edges.
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

/** Mid-tone backgrounds that none of the six colours can be mistaken for. */
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

export interface Scene {
  readonly width: number;
  readonly height: number;
  readonly background: readonly [number, number, number];
  /** Background brightness change from top to bottom (0 = flat). */
  readonly gradient: number;
  /** Objects in reading order of their cells. */
  readonly objects: readonly SceneObject[];
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
  const cellW = width / 3;
  const cellH = height / 3;
  const objects: SceneObject[] = shapes.map((shape, i) => {
    const cell = cells[i] ?? 0;
    const colour = pick(random, COLOURS);
    const radius = Math.min(cellW, cellH) * between(random, 0.25, 0.45);
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
      rotation: shape === 'circle' ? 0 : between(random, -0.3, 0.3),
      rgb,
    };
  });
  objects.sort((a, b) => POSITIONS.indexOf(a.position) - POSITIONS.indexOf(b.position));
  return { width, height, background, gradient, objects };
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

const SUPERSAMPLE = 4;

/** Renders `scene` into tightly packed RGB8 rows (width·height·3 bytes). */
export function renderScene(scene: Scene): Uint8Array {
  const { width, height, background, gradient, objects } = scene;
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
    const x0 = Math.max(0, Math.floor(obj.centreX - obj.radius - 1));
    const x1 = Math.min(width - 1, Math.ceil(obj.centreX + obj.radius + 1));
    const y0 = Math.max(0, Math.floor(obj.centreY - obj.radius - 1));
    const y1 = Math.min(height - 1, Math.ceil(obj.centreY + obj.radius + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        let hits = 0;
        for (let sy = 0; sy < SUPERSAMPLE; sy++) {
          for (let sx = 0; sx < SUPERSAMPLE; sx++) {
            const dx = (x + (sx + 0.5) / SUPERSAMPLE - obj.centreX) / obj.radius;
            const dy = (y + (sy + 0.5) / SUPERSAMPLE - obj.centreY) / obj.radius;
            // Rotate the sample back into the shape's own frame.
            if (insideShape(obj.shape, cos * dx + sin * dy, -sin * dx + cos * dy)) hits++;
          }
        }
        if (hits === 0) continue;
        const alpha = hits / (SUPERSAMPLE * SUPERSAMPLE);
        const o = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) rgb[o + c] = Math.round((rgb[o + c] ?? 0) * (1 - alpha) + (obj.rgb[c] ?? 0) * alpha);
      }
    }
  }
  return rgb;
}
