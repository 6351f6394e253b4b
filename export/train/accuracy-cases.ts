/**
 * The questions the accuracy tests ask the trained default model (Node engine and Chromium): fresh pictures of
 * the dataset's test split (never trained on), the kinds the model answers reliably (bench/BENCH.md, "Trained
 * default model"): the colour, place and shape of a lone shape and how many shapes a picture holds. Questions
 * about one of several shapes are left out: the model gets only about 60 % of those right.
 */
import { encodeRgbPng } from './encode-rgb-png';
import { datasetItem } from './shapes-dataset';
import type { ShapeQuestion } from './shapes-questions';

export interface AccuracyCase {
  /** Index of the picture in the test split. */
  readonly index: number;
  readonly png: Uint8Array;
  readonly qa: ShapeQuestion;
}

export interface AccuracyCaseOptions {
  /** Pictures with one shape, and with two or three. */
  readonly picturesPerKind: number;
  /** Only pictures up to this many pixels (SwiftShader runs WebGPU on the CPU: small pictures are fast). */
  readonly maxPicturePixels: number;
}

/**
 * The first small test-split pictures: per lone-shape picture its colour, place and shape in Japanese and its
 * colour in English; per multi-shape picture how many, in Japanese. Deterministic.
 */
export function accuracyCases(options: AccuracyCaseOptions): AccuracyCase[] {
  const cases: AccuracyCase[] = [];
  let single = 0;
  let several = 0;
  for (let index = 0; single + several < 2 * options.picturesPerKind; index++) {
    const item = datasetItem('test', index);
    if (item.scene.width * item.scene.height > options.maxPicturePixels) continue;
    const isSingle = item.scene.objects.length === 1;
    if (isSingle ? single >= options.picturesPerKind : several >= options.picturesPerKind) continue;
    if (isSingle) single++;
    else several++;
    const png = new Uint8Array(encodeRgbPng(item.rgb, item.scene.width, item.scene.height));
    for (const qa of item.questions) {
      const wanted = isSingle
        ? (qa.language === 'ja' && (qa.kind === 'colour' || qa.kind === 'position' || qa.kind === 'shape')) || (qa.language === 'en' && qa.kind === 'colour')
        : qa.language === 'ja' && qa.kind === 'count';
      if (wanted) cases.push({ index, png, qa });
    }
  }
  return cases;
}
