/**
 * Natural wordings of every question kind (issue 16), in two disjoint sets: `train` (the original generator's
 * phrasings and more) and `heldout` (sentence frames never used in training, for the held-out evaluation and the
 * accuracy tests). Held-out frames recombine words that training uses (trained-model-files.test.ts checks every
 * held-out token occurs in a training wording), so they measure understanding of new wordings, not of untrained
 * token embeddings. A frame is a template: {R} is the referent noun phrase ("星", "左上にある図形", "the star",
 * "the shape at the top left"). Surface variants (punctuation, capitals) are applied on top (shapes-questions.ts).
 */

export type PhrasingSet = 'train' | 'heldout';

/** Frames of one question kind and language, per set. */
export interface Frames {
  readonly train: readonly string[];
  readonly heldout: readonly string[];
}

/** Japanese: {R} is a noun phrase; "bare" frames are for a lone shape left unnamed. */
export const JA_FRAMES = {
  colour: {
    train: ['{R}は何色ですか？', '{R}の色は何ですか？', '{R}は何色？', '{R}の色は？', '{R}の色を教えてください。', '{R}は何色をしていますか？', '{R}は何色でしょうか？'],
    heldout: ['{R}って何色ですか？', '{R}の色を教えて', '{R}の色は何色ですか？', '{R}はどんな色ですか？'],
  },
  colourBare: { train: ['何色ですか？', '何色？', '色は何ですか？', '色を教えてください。'], heldout: ['何色でしょうか？', 'どんな色ですか？'] },
  position: {
    train: ['{R}はどこにありますか？', '{R}は画像のどこにありますか？', '{R}はどこ？', '{R}の位置は？', '{R}はどこにある？', '{R}の場所を教えてください。', '{R}はどの位置にありますか？', '{R}ってどこにありますか？'],
    heldout: ['{R}はどこですか？', '{R}の位置を教えて', '{R}は画像のどこ？', '{R}があるのはどこですか？'],
  },
  positionBare: { train: ['どこにありますか？', 'どこ？', '位置を教えてください。'], heldout: ['どこにあるでしょうか？', '場所はどこですか？'] },
  /** {R} is a place or colour phrase: "左上にある図形", "赤い図形". */
  shape: {
    train: ['{R}は何ですか？', '{R}の形は何ですか？', '{R}は何の形ですか？', '{R}は何？', '{R}の形を教えてください。', '{R}はどんな形ですか？'],
    heldout: ['{R}は何の図形ですか？', '{R}の形は？', '{R}の形を教えて', '{R}って何の形？'],
  },
  shapeBare: { train: ['形は何ですか？', '何の形ですか？', 'これは何の図形ですか？', 'どんな形？'], heldout: ['これは何の形ですか？', '形を教えて'] },
  count: {
    train: ['何個ありますか？', '図形は何個ありますか？', '図形はいくつありますか？', '図形の数は？', 'いくつの図形がありますか？', '図形は何個？', '画像に図形は何個ありますか？', '図形って何個ある？'],
    heldout: ['図形はいくつある？', '画像の図形は何個ですか？', '図形の数を教えて', 'この画像に図形はいくつありますか？'],
  },
  describe: {
    train: ['この画像を説明してください。', '何が見えますか？', '画像について簡単に説明してください。', '画像に何がありますか？', 'この画像について教えてください。', '何が見える？', '画像を説明して'],
    heldout: ['この画像には何がありますか？', '画像について説明してください。', '何がありますか？', 'この画像を簡単に説明して'],
  },
} as const satisfies Record<string, Frames>;

/** English: {R} is "the star", "the shape at the top left", "the red shape", or "it" (lone shape). */
export const EN_FRAMES = {
  colour: {
    train: ['What color is {R}?', 'What colour is {R}?', 'What is the color of {R}?', 'What is the colour of {R}?', 'Which color is {R}?', 'Tell me the colour of {R}.', 'What color is {R} in the picture?'],
    heldout: ['Which colour is {R}?', 'Tell me the color of {R}.', 'What colour is {R} in the image?', 'What is the colour of {R} in the picture?'],
  },
  position: {
    train: ['Where is {R}?', 'Where is {R} in the picture?', 'Tell me where {R} is.', 'Where is {R} in the image?', 'In which part of the picture is {R}?', 'Where can you see {R}?', 'Where is {R} located in the picture?'],
    heldout: ['Where is {R} located?', 'In which part of the image is {R}?', 'Tell me where {R} is in the picture.'],
  },
  /** {R} is "the shape at the top left", "the one in the center" or "the red shape" (or "it" for a lone shape). */
  shape: {
    train: ['What shape is {R}?', 'What is {R}?', 'Which shape is {R}?', 'Tell me what {R} is.'],
    heldout: ['What shape is {R} in the picture?', 'Which shape is {R} in the image?', 'Tell me which shape {R} is.'],
  },
  /** Asked about a place directly: {P} is "top left", "center". */
  shapeAt: {
    train: ['What shape is at the {P}?', 'What is at the {P}?', 'Which shape is at the {P}?', 'What shape is in the {P}?'],
    heldout: ['What is in the {P}?', 'Tell me the shape at the {P}.', 'Which shape is in the {P} of the picture?'],
  },
  count: {
    train: ['How many shapes are there?', 'How many shapes are in the picture?', 'How many shapes do you see?', 'How many shapes are in the image?', 'Count the shapes.', 'Tell me how many shapes there are.', 'Tell me the number of shapes.'],
    heldout: ['How many shapes can you see?', 'Count the shapes in the picture.', 'How many shapes are there in the image?', 'What is the number of shapes?'],
  },
  describe: {
    train: ['Describe the image.', 'What do you see?', 'Describe the picture.', 'What is in the picture?', 'Tell me what you see.', 'What is in the image?', 'Describe this image.'],
    heldout: ['Describe this picture.', 'What can you see?', 'Tell me what is in the image.', 'What do you see in the picture?'],
  },
} as const satisfies Record<string, Frames>;

/** Japanese shape nouns a question may use for each shape (the answers keep the first). */
export const JA_SHAPE_NOUNS = { circle: ['丸', '円'], square: ['四角', '四角形'], triangle: ['三角', '三角形'], star: ['星', '星形'] } as const;
