/**
 * The shapes dataset (issue 8): item `index` of a split is a scene (shapes-scene.ts) plus its questions
 * (shapes-questions.ts), both deterministic from one seed. Splits use disjoint seed ranges, so the
 * evaluation and test pictures are never training pictures.
 */
import { SarashinaError } from '../../src/protocol/errors';
import { sceneQuestions, type ShapeQuestion } from './shapes-questions';
import { makeScene, renderScene, type Scene } from './shapes-scene';

export type DatasetSplit = 'train' | 'eval' | 'test';

/** First seed of each split; a split holds at most 1,000,000 items. */
const SPLIT_SEED_BASE: Readonly<Record<DatasetSplit, number>> = { train: 1_000_000, eval: 2_000_000, test: 3_000_000 };
const SPLIT_SIZE = 1_000_000;

export interface DatasetItem {
  readonly seed: number;
  readonly scene: Scene;
  /** RGB8, scene.width × scene.height. */
  readonly rgb: Uint8Array;
  readonly questions: readonly ShapeQuestion[];
}

/** Item `index` (0 ≤ index < 1,000,000) of `split`. */
export function datasetItem(split: DatasetSplit, index: number): DatasetItem {
  if (!Number.isInteger(index) || index < 0 || index >= SPLIT_SIZE) {
    throw new SarashinaError('invalid-request', `Dataset index ${index} is outside 0…${SPLIT_SIZE - 1}: pass a whole number in that range.`, { index });
  }
  const seed = SPLIT_SEED_BASE[split] + index;
  const scene = makeScene(seed);
  return { seed, scene, rgb: renderScene(scene), questions: sceneQuestions(scene, seed) };
}
