/**
 * The demo's sample pictures and suggested questions for the built-in default model (issue 16): pictures drawn
 * by the generator the model was trained with (export/train, test split: never trained on), each with questions
 * in the phrasings it answers, and their exact answers (the dataset's; the demo's browser test checks them).
 */
import { datasetItem } from '../export/train/shapes-dataset';
import type { QuestionKind, QuestionLanguage, ShapeQuestion } from '../export/train/shapes-questions';

export interface DemoSample {
  /** Index in the dataset's test split. */
  readonly index: number;
  readonly width: number;
  readonly height: number;
  /** RGB8 rows. */
  readonly rgb: Uint8Array;
  /** Suggested questions, each with the dataset's exact answer. */
  readonly questions: readonly ShapeQuestion[];
}

/** Test-split pictures with one, two and three shapes of distinct colours, ≥ 180 px a side; the kinds to suggest. */
const CHOSEN: readonly { readonly index: number; readonly ask: readonly (readonly [QuestionKind, QuestionLanguage])[] }[] = [
  { index: 916, ask: [['colour', 'ja'], ['shape', 'ja'], ['describe', 'en']] },
  { index: 956, ask: [['position', 'ja'], ['colour', 'ja'], ['count', 'en']] },
  { index: 910, ask: [['describe', 'ja'], ['colour', 'en'], ['shape', 'ja']] },
];

/** The samples, drawn now (a few milliseconds each). */
export function demoSamples(): DemoSample[] {
  return CHOSEN.map(({ index, ask }) => {
    const item = datasetItem('test', index);
    const questions = ask.map(([kind, language]) => {
      const q = item.questions.find((x) => x.kind === kind && x.language === language);
      if (!q) throw new Error(`test picture ${index} has no ${language} ${kind} question`);
      return q;
    });
    return { index, width: item.scene.width, height: item.scene.height, rgb: item.rgb, questions };
  });
}

/** The sample as a PNG file, as a user would pick it. */
export async function samplePng(sample: DemoSample): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = sample.width;
  canvas.height = sample.height;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2D canvas context for the sample pictures');
  const rgba = new Uint8ClampedArray(sample.width * sample.height * 4);
  for (let p = 0, q = 0; p < sample.rgb.length; p += 3, q += 4) {
    rgba[q] = sample.rgb[p] ?? 0;
    rgba[q + 1] = sample.rgb[p + 1] ?? 0;
    rgba[q + 2] = sample.rgb[p + 2] ?? 0;
    rgba[q + 3] = 255;
  }
  context.putImageData(new ImageData(rgba, sample.width, sample.height), 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the sample picture could not be encoded'))), 'image/png'));
}
