/**
 * The shapes dataset (issue 8): item `index` of a split is a scene (shapes-scene.ts) plus its questions
 * (shapes-questions.ts), both deterministic from one seed. Splits use disjoint seed ranges, so the
 * evaluation and test pictures are never training pictures.
 *
 * Splits: `eval` and `test` are the original pictures with the original phrasings (as when the shipped model
 * was first trained, so old and new runs compare); `train` mixes original and varied pictures
 * (makeVariedScene, 60 %) and original and natural training wordings (phrasedQuestions 'train', 85 % since run 5; 70 % in run 4);
 * `heldout-eval` and `heldout-test` (issue 16) are varied pictures ("foreign": other sizes, backgrounds,
 * antialiasing, blur, noise, JPEG) asked in held-out wordings that training never uses.
 */
import { SarashinaError } from '../../src/protocol/errors';
import { applyEffects } from './picture-effects';
import { phrasedQuestions, sceneQuestions, type ShapeQuestion } from './shapes-questions';
import { makeScene, makeVariedScene, renderScene, seededRandom, type Scene } from './shapes-scene';

export type DatasetSplit = 'train' | 'eval' | 'test' | 'heldout-eval' | 'heldout-test';

export const DATASET_SPLITS: readonly DatasetSplit[] = ['train', 'eval', 'test', 'heldout-eval', 'heldout-test'];

/** First seed of each split; a split holds at most 1,000,000 items. */
const SPLIT_SEED_BASE: Readonly<Record<DatasetSplit, number>> = {
  train: 1_000_000,
  eval: 2_000_000,
  test: 3_000_000,
  'heldout-eval': 4_000_000,
  'heldout-test': 5_000_000,
};
const SPLIT_SIZE = 1_000_000;

export interface DatasetItem {
  readonly seed: number;
  readonly scene: Scene;
  /** RGB8, scene.width × scene.height. */
  readonly rgb: Uint8Array;
  readonly questions: readonly ShapeQuestion[];
  /** Original picture (makeScene) or varied (makeVariedScene). */
  readonly pictures: 'original' | 'varied';
  /** Original phrasings (sceneQuestions) or natural wordings of a set (phrasedQuestions). */
  readonly phrasings: 'original' | 'train' | 'heldout';
}

/** Item `index` (0 ≤ index < 1,000,000) of `split`. */
export function datasetItem(split: DatasetSplit, index: number): DatasetItem {
  if (!Number.isInteger(index) || index < 0 || index >= SPLIT_SIZE) {
    throw new SarashinaError('invalid-request', `Dataset index ${index} is outside 0…${SPLIT_SIZE - 1}: pass a whole number in that range.`, { index });
  }
  const seed = SPLIT_SEED_BASE[split] + index;
  let pictures: DatasetItem['pictures'] = 'original';
  let phrasings: DatasetItem['phrasings'] = 'original';
  if (split === 'train') {
    const mix = seededRandom(seed ^ 0x6a09e667);
    pictures = mix() < 0.6 ? 'varied' : 'original';
    phrasings = mix() < 0.85 ? 'train' : 'original';
  } else if (split === 'heldout-eval' || split === 'heldout-test') {
    pictures = 'varied';
    phrasings = 'heldout';
  }
  const scene = pictures === 'varied' ? makeVariedScene(seed) : makeScene(seed);
  const rendered = renderScene(scene);
  const rgb = scene.effects ? applyEffects(rendered, scene.width, scene.height, scene.effects) : rendered;
  const questions = phrasings === 'original' ? sceneQuestions(scene, seed) : phrasedQuestions(scene, seed, phrasings);
  return { seed, scene, rgb, questions, pictures, phrasings };
}
