import { describe, expect, it } from 'vitest';
import { EN_FRAMES, JA_FRAMES } from './shapes-phrasings';
import { datasetItem } from './shapes-dataset';
import { COLOURS } from './shapes-scene';

/** Nominal colours, to name the pixel under an object's centre independently of the renderer's table. */
const NOMINAL: Readonly<Record<(typeof COLOURS)[number], readonly number[]>> = {
  red: [220, 35, 35],
  blue: [35, 75, 225],
  green: [35, 165, 60],
  yellow: [240, 215, 30],
  white: [248, 248, 248],
  black: [18, 18, 18],
};

function nearestColour(rgb: readonly number[]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const [name, ref] of Object.entries(NOMINAL)) {
    const d = ref.reduce((sum, v, c) => sum + (v - (rgb[c] ?? 0)) ** 2, 0);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

describe('shapes dataset', () => {
  it('is deterministic and its splits differ', () => {
    const a = datasetItem('test', 5);
    const b = datasetItem('test', 5);
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).toBe(true);
    expect(a.questions).toEqual(b.questions);
    expect(Buffer.from(datasetItem('train', 5).rgb).equals(Buffer.from(a.rgb))).toBe(false);
  });

  it('draws what its answers say: colour under each centre, distinct shapes and cells, sizes in 112…224', () => {
    const counts = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const { scene, rgb, questions } = datasetItem('eval', i);
      expect(scene.width).toBeGreaterThanOrEqual(112);
      expect(scene.height).toBeLessThanOrEqual(224);
      expect(new Set(scene.objects.map((o) => o.shape)).size).toBe(scene.objects.length);
      expect(new Set(scene.objects.map((o) => o.position)).size).toBe(scene.objects.length);
      counts.add(scene.objects.length);
      for (const o of scene.objects) {
        const p = (Math.floor(o.centreY) * scene.width + Math.floor(o.centreX)) * 3;
        expect(nearestColour([rgb[p] ?? 0, rgb[p + 1] ?? 0, rgb[p + 2] ?? 0])).toBe(o.colour);
      }
      const count = questions.find((q) => q.kind === 'count' && q.language === 'ja');
      expect(count?.answer).toBe(`${scene.objects.length}個あります。`);
    }
    expect([...counts].sort()).toEqual([1, 2, 3]);
  });

  it('varied pictures (held-out split): other sizes and shapes, any background incl. white, shapes apart from it, what the answers say', () => {
    let white = 0;
    let wide = 0;
    let large = 0;
    for (let i = 0; i < 40; i++) {
      const { scene, rgb, pictures, phrasings } = datasetItem('heldout-eval', i);
      expect([pictures, phrasings]).toEqual(['varied', 'heldout']);
      expect(Math.min(scene.width, scene.height)).toBeGreaterThanOrEqual(84);
      if (scene.background.every((c) => c >= 236)) white++;
      if (Math.max(scene.width / scene.height, scene.height / scene.width) > 1.5) wide++;
      if (scene.width * scene.height > 224 * 224) large++;
      expect(new Set(scene.objects.map((o) => o.shape)).size).toBe(scene.objects.length);
      expect(new Set(scene.objects.map((o) => o.position)).size).toBe(scene.objects.length);
      for (const o of scene.objects) {
        // A shape's colour is never close to the background's (no white shape on white): its answer is not in doubt.
        const nominal = NOMINAL[o.colour];
        expect(Math.hypot(...nominal.map((v, c) => v - (scene.background[c] ?? 0)))).toBeGreaterThanOrEqual(120);
        const p = (Math.floor(o.centreY) * scene.width + Math.floor(o.centreX)) * 3;
        expect(nearestColour([rgb[p] ?? 0, rgb[p + 1] ?? 0, rgb[p + 2] ?? 0])).toBe(o.colour);
      }
    }
    expect(white).toBeGreaterThanOrEqual(4);
    expect(wide).toBeGreaterThanOrEqual(4);
    expect(large).toBeGreaterThanOrEqual(4);
  });

  it('held-out wordings are never training wordings; training mixes original and varied pictures and wordings', () => {
    const strip = (q: string): string => q.replace(/[？?。.]$/, '').toLowerCase();
    const trainFrames = new Set([...Object.values(JA_FRAMES), ...Object.values(EN_FRAMES)].flatMap((f) => f.train).map(strip));
    for (const frames of [...Object.values(JA_FRAMES), ...Object.values(EN_FRAMES)]) {
      for (const f of frames.heldout) expect(trainFrames.has(strip(f)), f).toBe(false);
    }
    const trained = new Set<string>();
    const mix = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const item = datasetItem('train', i);
      mix.add(`${item.pictures}/${item.phrasings}`);
      for (const q of item.questions) trained.add(strip(q.question));
    }
    expect([...mix].sort()).toEqual(['original/original', 'original/train', 'varied/original', 'varied/train']);
    for (let i = 0; i < 30; i++) {
      for (const q of datasetItem('heldout-test', i).questions) expect(trained.has(strip(q.question)), q.question).toBe(false);
    }
  });
});
