import { describe, expect, it } from 'vitest';
import { EN_COMPOSED, EN_FRAMES, JA_COMPOSED, JA_FRAMES, type Frames } from './shapes-phrasings';
import { phrasedQuestions, sceneQuestions } from './shapes-questions';
import { datasetItem } from './shapes-dataset';
import { COLOURS, makeScene, makeVariedScene } from './shapes-scene';

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

  it('held-out wordings are never training wordings, not even wrapped in an opener or ending; training mixes original and varied pictures and wordings', () => {
    const strip = (q: string): string => q.trim().replace(/[？?。.！!]+$/, '').toLowerCase();
    const all = (frames: Readonly<Record<string, Frames>>, set: 'train' | 'heldout'): string[] => Object.values(frames).flatMap((f) => f[set]).map(strip);
    // A leak: the held-out frame whole inside a training frame — English anywhere; Japanese as the frame, at
    // its start (+ "ください") or after an opener ("すみません、"); not after content ("左上には何がありますか").
    const leaks = (train: string, heldout: string): boolean =>
      /[a-z]/.test(heldout) ? train.includes(heldout) : train === heldout || train.startsWith(heldout) || ['、', '。', '：'].some((m) => train.includes(m + heldout));
    for (const [frames, composed] of [[JA_FRAMES, JA_COMPOSED], [EN_FRAMES, EN_COMPOSED]] as const) {
      const heldout = all(frames, 'heldout');
      const train = all(frames, 'train');
      for (const t of train) for (const h of heldout) expect(leaks(t, h), `${t} ⊃ ${h}`).toBe(false);
      // The composition does generate held-out frames (the exclusion is exercised), and none reaches training.
      const generated = Object.values(composed).flat().map(strip);
      expect(heldout.filter((h) => generated.some((g) => leaks(g, h))).length).toBeGreaterThanOrEqual(5);
    }
    const questions = (set: 'train' | 'heldout', from: number, n: number): string[] =>
      Array.from({ length: n }, (_, i) => phrasedQuestions(i % 2 ? makeScene(from + i) : makeVariedScene(from + i), from + i, set)).flat().map((q) => strip(q.question));
    const trained = new Set([...questions('train', 1_000_000, 3000), ...Array.from({ length: 500 }, (_, i) => sceneQuestions(makeScene(1_000_000 + i), 1_000_000 + i)).flat().map((q) => strip(q.question))]);
    for (const q of [...questions('heldout', 4_000_000, 400), ...questions('heldout', 5_000_000, 300)]) expect(trained.has(q), q).toBe(false);
    const mix = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const item = datasetItem('train', i);
      mix.add(`${item.pictures}/${item.phrasings}`);
    }
    expect([...mix].sort()).toEqual(['original/original', 'original/train', 'varied/original', 'varied/train']);
  });

  it('held-out frames are run 4\'s (runs compare); training has many frames per kind and the contrasting pairs', () => {
    expect(Object.fromEntries(Object.entries(JA_FRAMES).map(([k, f]) => [k, f.heldout]))).toEqual({
      colour: ['{R}って何色ですか？', '{R}の色を教えて', '{R}の色は何色ですか？', '{R}はどんな色ですか？'],
      colourBare: ['何色でしょうか？', 'どんな色ですか？'],
      position: ['{R}はどこですか？', '{R}の位置を教えて', '{R}は画像のどこ？', '{R}があるのはどこですか？'],
      positionBare: ['どこにあるでしょうか？', '場所はどこですか？'],
      shape: ['{R}は何の図形ですか？', '{R}の形は？', '{R}の形を教えて', '{R}って何の形？'],
      shapeBare: ['これは何の形ですか？', '形を教えて'],
      shapeAt: [],
      count: ['図形はいくつある？', '画像の図形は何個ですか？', '図形の数を教えて', 'この画像に図形はいくつありますか？'],
      describe: ['この画像には何がありますか？', '画像について説明してください。', '何がありますか？', 'この画像を簡単に説明して'],
    });
    expect(Object.fromEntries(Object.entries(EN_FRAMES).map(([k, f]) => [k, f.heldout]))).toEqual({
      colour: ['Which colour is {R}?', 'Tell me the color of {R}.', 'What colour is {R} in the image?', 'What is the colour of {R} in the picture?'],
      position: ['Where is {R} located?', 'In which part of the image is {R}?', 'Tell me where {R} is in the picture.'],
      shape: ['What shape is {R} in the picture?', 'Which shape is {R} in the image?', 'Tell me which shape {R} is.'],
      shapeAt: ['What is in the {P}?', 'Tell me the shape at the {P}.', 'Which shape is in the {P} of the picture?'],
      count: ['How many shapes can you see?', 'Count the shapes in the picture.', 'How many shapes are there in the image?', 'What is the number of shapes?'],
      describe: ['Describe this picture.', 'What can you see?', 'Tell me what is in the image.', 'What do you see in the picture?'],
    });
    for (const frames of [...Object.values(JA_FRAMES), ...Object.values(EN_FRAMES)]) expect(frames.train.length).toBeGreaterThanOrEqual(60);
    expect(JA_FRAMES.shapeAt.train).toContain('{P}には何がありますか？');
    expect(JA_FRAMES.describe.train).toContain('画像に何がありますか？');
    expect(EN_FRAMES.shapeAt.train).toEqual(expect.arrayContaining(['What is at the {P}?', 'What do you see at the {P}?', 'What is the shape at the {P}?']));
    expect(EN_FRAMES.describe.train).toEqual(expect.arrayContaining(['What is in the picture?', 'What do you see?']));
    expect(EN_FRAMES.count.train).toContain('What is the total number of shapes?');
    // Japanese shape questions about one of several shapes ask the place directly too ("左上には何がありますか？").
    const asked = Array.from({ length: 200 }, (_, i) => phrasedQuestions(makeScene(1_000_000 + i), 1_000_000 + i, 'train')).flat();
    expect(asked.some((q) => q.kind === 'shape' && /^(左上|右上|左下|右下|中央|上|下|左|右)には何がありますか/.test(q.question))).toBe(true);
  });
});
