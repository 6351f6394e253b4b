/**
 * Questions and answers about a scene (shapes-scene.ts), in natural Japanese and some English, with one
 * right answer each: shapes are distinct within a scene and every object has its own grid cell, so
 * "the star" and "the top-left shape" name exactly one object. Answers are short fixed phrasings so that
 * correctness is exact string equality.
 */
import { EN_FRAMES, JA_FRAMES, JA_SHAPE_NOUNS, type Frames, type PhrasingSet } from './shapes-phrasings';
import { seededRandom, type ColourName, type PositionName, type Scene, type SceneObject, type ShapeKind } from './shapes-scene';

export type QuestionKind = 'colour' | 'count' | 'position' | 'shape' | 'describe';
export type QuestionLanguage = 'ja' | 'en';

export interface ShapeQuestion {
  readonly kind: QuestionKind;
  readonly language: QuestionLanguage;
  readonly question: string;
  readonly answer: string;
}

const SHAPE_JA: Readonly<Record<ShapeKind, string>> = { circle: '丸', square: '四角', triangle: '三角', star: '星' };
const COLOUR_JA: Readonly<Record<ColourName, string>> = { red: '赤', blue: '青', green: '緑', yellow: '黄色', white: '白', black: '黒' };
/** Attributive forms: 赤い丸, 緑の三角. */
const COLOUR_JA_ADJECTIVE: Readonly<Record<ColourName, string>> = { red: '赤い', blue: '青い', green: '緑の', yellow: '黄色い', white: '白い', black: '黒い' };
const POSITION_JA: Readonly<Record<PositionName, string>> = {
  'top-left': '左上',
  top: '上',
  'top-right': '右上',
  left: '左',
  center: '中央',
  right: '右',
  'bottom-left': '左下',
  bottom: '下',
  'bottom-right': '右下',
};
const POSITION_EN: Readonly<Record<PositionName, string>> = {
  'top-left': 'top left',
  top: 'top',
  'top-right': 'top right',
  left: 'left',
  center: 'center',
  right: 'right',
  'bottom-left': 'bottom left',
  bottom: 'bottom',
  'bottom-right': 'bottom right',
};

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

/** The exact expected answers, by kind; also used by tests to score an engine's reply. */
export const ANSWERS = {
  colourJa: (o: SceneObject): string => `${COLOUR_JA[o.colour]}です。`,
  countJa: (n: number): string => `${n}個あります。`,
  positionJa: (o: SceneObject): string => `${POSITION_JA[o.position]}にあります。`,
  shapeJa: (o: SceneObject): string => `${SHAPE_JA[o.shape]}です。`,
  describeJa: (objects: readonly SceneObject[]): string =>
    `${objects.map((o) => `${POSITION_JA[o.position]}に${COLOUR_JA_ADJECTIVE[o.colour]}${SHAPE_JA[o.shape]}`).join('、')}があります。`,
  colourEn: (o: SceneObject): string => `${capitalise(o.colour)}.`,
  countEn: (n: number): string => (n === 1 ? 'There is 1 shape.' : `There are ${n} shapes.`),
  positionEn: (o: SceneObject): string => `At the ${POSITION_EN[o.position]}.`,
  shapeEn: (o: SceneObject): string => `A ${o.shape}.`,
  describeEn: (objects: readonly SceneObject[]): string => {
    const parts = objects.map((o) => `a ${o.colour} ${o.shape} at the ${POSITION_EN[o.position]}`);
    const joined = parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
    return `${capitalise(joined)}.`;
  },
} as const;

/**
 * Every question kind about `scene`, phrasings chosen by `seed`: in Japanese one colour, position and shape
 * question per object plus a count and a description question; in English one of each kind (about a
 * randomly chosen object). A question about a single-object scene may leave the object unnamed.
 */
export function sceneQuestions(scene: Scene, seed: number): ShapeQuestion[] {
  const random = seededRandom(seed ^ 0x5bd1e995);
  const { objects } = scene;
  const single = objects.length === 1;
  const out: ShapeQuestion[] = [];
  const ja = (kind: QuestionKind, question: string, answer: string): void => void out.push({ kind, language: 'ja', question, answer });
  const en = (kind: QuestionKind, question: string, answer: string): void => void out.push({ kind, language: 'en', question, answer });
  for (const o of objects) {
    const s = SHAPE_JA[o.shape];
    const p = POSITION_JA[o.position];
    ja('colour', pick(random, single ? ['何色ですか？', 'この図形は何色ですか？', `${s}は何色ですか？`] : [`${s}は何色ですか？`, `${s}の色は何ですか？`]), ANSWERS.colourJa(o));
    ja('position', pick(random, single ? ['どこにありますか？', '図形はどこにありますか？', `${s}はどこにありますか？`] : [`${s}はどこにありますか？`, `${s}は画像のどこにありますか？`]), ANSWERS.positionJa(o));
    ja('shape', pick(random, single ? ['形は何ですか？', '何の形ですか？', 'これは何の図形ですか？'] : [`${p}にある図形は何ですか？`, `${p}の形は何ですか？`]), ANSWERS.shapeJa(o));
  }
  ja('count', pick(random, ['何個ありますか？', '図形は何個ありますか？', '図形はいくつありますか？']), ANSWERS.countJa(objects.length));
  ja('describe', pick(random, ['この画像を説明してください。', '何が見えますか？', '画像について簡単に説明してください。']), ANSWERS.describeJa(objects));
  const o = pick(random, objects);
  en('colour', single && random() < 0.5 ? 'What color is it?' : `What color is the ${o.shape}?`, ANSWERS.colourEn(o));
  en('position', single && random() < 0.5 ? 'Where is the shape?' : `Where is the ${o.shape}?`, ANSWERS.positionEn(o));
  en('shape', single ? 'What shape is it?' : `What shape is at the ${POSITION_EN[o.position]}?`, ANSWERS.shapeEn(o));
  en('count', pick(random, ['How many shapes are there?', 'How many shapes are in the picture?']), ANSWERS.countEn(objects.length));
  en('describe', pick(random, ['Describe the image.', 'What do you see?']), ANSWERS.describeEn(objects));
  return out;
}

const fill = (frame: string, referent: string): string => frame.replace('{R}', referent).replace('{P}', referent);

/** Surface variants people type: Japanese "？" as "?" or left off; English without the final mark or capital. */
function surface(random: () => number, language: QuestionLanguage, question: string): string {
  let q = question;
  const r = random();
  if (language === 'ja') {
    if (r < 0.15) q = q.replace(/？$/, '?');
    else if (r < 0.3) q = q.replace(/[？。]$/, '');
  } else {
    if (r < 0.15) q = q.replace(/[?.]$/, '');
    if (random() < 0.15) q = q.charAt(0).toLowerCase() + q.slice(1);
  }
  return q;
}

/**
 * Every question kind about `scene` in natural wordings of `set` (shapes-phrasings.ts), chosen by `seed`; the
 * same kinds, counts and answers as sceneQuestions. A shape among several is named by its shape noun, its place
 * ("左にある図形", "the shape at the top left") or — when no other shape shares it — its colour ("赤い図形",
 * "the red shape"); a lone shape may be left unnamed. In training, a Japanese shape question about one of several
 * shapes may also ask the place directly ("左上には何がありますか？").
 */
export function phrasedQuestions(scene: Scene, seed: number, set: PhrasingSet): ShapeQuestion[] {
  const random = seededRandom(seed ^ 0x3c6ef372);
  const { objects } = scene;
  const single = objects.length === 1;
  const out: ShapeQuestion[] = [];
  const frame = (frames: Frames): string => pick(random, frames[set]);
  const add = (kind: QuestionKind, language: QuestionLanguage, question: string, answer: string): void =>
    void out.push({ kind, language, question: surface(random, language, question), answer });
  const uniqueColour = (o: SceneObject): boolean => objects.filter((x) => x.colour === o.colour).length === 1;
  const jaShape = (o: SceneObject): string => pick(random, JA_SHAPE_NOUNS[o.shape]);
  const jaPlace = (o: SceneObject): string => `${POSITION_JA[o.position]}${pick(random, ['にある図形', 'の図形'])}`;
  const jaColour = (o: SceneObject): string => `${COLOUR_JA_ADJECTIVE[o.colour]}図形`;
  const jaLone = (o: SceneObject): string => pick(random, ['この図形', '図形', jaShape(o)]);
  for (const o of objects) {
    const r = random();
    if (single && r < 0.4) add('colour', 'ja', frame(JA_FRAMES.colourBare), ANSWERS.colourJa(o));
    else add('colour', 'ja', fill(frame(JA_FRAMES.colour), single ? jaLone(o) : r < 0.6 ? jaShape(o) : jaPlace(o)), ANSWERS.colourJa(o));
    const p = random();
    if (single && p < 0.4) add('position', 'ja', frame(JA_FRAMES.positionBare), ANSWERS.positionJa(o));
    else add('position', 'ja', fill(frame(JA_FRAMES.position), single ? jaLone(o) : p < 0.75 || !uniqueColour(o) ? jaShape(o) : jaColour(o)), ANSWERS.positionJa(o));
    const s = random();
    if (single && s < 0.5) add('shape', 'ja', frame(JA_FRAMES.shapeBare), ANSWERS.shapeJa(o));
    // Training only (the held-out draws stay as they were): a place asked directly, "左上には何がありますか？".
    else if (set === 'train' && !single && random() < 0.35) add('shape', 'ja', fill(frame(JA_FRAMES.shapeAt), POSITION_JA[o.position]), ANSWERS.shapeJa(o));
    else add('shape', 'ja', fill(frame(JA_FRAMES.shape), single ? pick(random, ['この図形', jaColour(o)]) : s < 0.75 || !uniqueColour(o) ? jaPlace(o) : jaColour(o)), ANSWERS.shapeJa(o));
  }
  add('count', 'ja', frame(JA_FRAMES.count), ANSWERS.countJa(objects.length));
  add('describe', 'ja', frame(JA_FRAMES.describe), ANSWERS.describeJa(objects));
  const o = pick(random, objects);
  const enPlace = (x: SceneObject): string => pick(random, [`the shape at the ${POSITION_EN[x.position]}`, `the shape in the ${POSITION_EN[x.position]}`]);
  const enLone = (x: SceneObject): string => pick(random, ['it', 'the shape', `the ${x.shape}`]);
  const c = random();
  add('colour', 'en', fill(frame(EN_FRAMES.colour), single ? enLone(o) : c < 0.6 ? `the ${o.shape}` : enPlace(o)), ANSWERS.colourEn(o));
  const w = random();
  add('position', 'en', fill(frame(EN_FRAMES.position), single ? enLone(o) : w < 0.75 || !uniqueColour(o) ? `the ${o.shape}` : `the ${o.colour} shape`), ANSWERS.positionEn(o));
  const h = random();
  if (single) add('shape', 'en', fill(frame(EN_FRAMES.shape), pick(random, ['it', 'the shape', `the ${o.colour} shape`])), ANSWERS.shapeEn(o));
  else if (h < 0.5) add('shape', 'en', fill(frame(EN_FRAMES.shapeAt), POSITION_EN[o.position]), ANSWERS.shapeEn(o));
  else add('shape', 'en', fill(frame(EN_FRAMES.shape), h < 0.75 || !uniqueColour(o) ? `the ${pick(random, ['shape', 'one'])} ${pick(random, ['at', 'in'])} the ${POSITION_EN[o.position]}` : `the ${o.colour} shape`), ANSWERS.shapeEn(o));
  add('count', 'en', frame(EN_FRAMES.count), ANSWERS.countEn(objects.length));
  add('describe', 'en', frame(EN_FRAMES.describe), ANSWERS.describeEn(objects));
  return out;
}
