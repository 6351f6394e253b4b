/**
 * Questions and answers about a scene (shapes-scene.ts), in natural Japanese and some English, with one
 * right answer each: shapes are distinct within a scene and every object has its own grid cell, so
 * "the star" and "the top-left shape" name exactly one object. Answers are short fixed phrasings so that
 * correctness is exact string equality.
 */
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
