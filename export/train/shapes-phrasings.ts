/**
 * Natural wordings of every question kind (issue 16), in two disjoint sets: `train` and `heldout` (sentence
 * frames never used in training, for the held-out evaluation and the accuracy tests). Held-out frames recombine
 * words that training uses (trained-model-files.test.ts checks every held-out token occurs in a training
 * wording), so they measure understanding of new wordings, not of untrained token embeddings. A frame is a
 * template: {R} is the referent noun phrase ("星", "左上にある図形", "the star", "the shape at the top left"),
 * {P} a place ("左上", "top left"). Surface variants (punctuation, capitals) are applied on top
 * (shapes-questions.ts).
 *
 * The held-out frames are run 4's, unchanged, so runs compare. The training frames (run 5) are composed: openers
 * ("すみません、", "Please, ", "Can you tell me …"), the content core of each kind (色/何色, どこ/位置/場所, 形/何の図形,
 * 何個/いくつ/数, 説明/何が見えますか; colour/color, where/position, shape/kind, how many/number, describe/see) in
 * several word orders, politeness endings and "in the picture/image" suffixes — so that a kind is recognised by
 * its content words, not by one whole template. Contrasting pairs share everything but the content: "左上には何が
 * ありますか？" (shape) / "画像に何がありますか？" (description), "What is at the top left?" / "What is in the
 * picture?", "What do you see at the top left?" / "What do you see?", "What is the total number of shapes?"
 * (count) / "What is the shape at the top left?". A composed frame that would put a whole held-out frame into
 * training — the frame itself, or it wrapped in an opener, ending or suffix — is left out (`withoutHeldout`).
 */

export type PhrasingSet = 'train' | 'heldout';

/** Frames of one question kind and language, per set. */
export interface Frames {
  readonly train: readonly string[];
  readonly heldout: readonly string[];
}

/** Every concatenation of one item of each part, in order. */
const combine = (...parts: readonly (readonly string[])[]): string[] => parts.reduce<string[]>((acc, part) => acc.flatMap((a) => part.map((b) => a + b)), ['']);

/** Run 4's held-out frames (kept as they were, so runs compare). */
const JA_HELDOUT = {
  colour: ['{R}って何色ですか？', '{R}の色を教えて', '{R}の色は何色ですか？', '{R}はどんな色ですか？'],
  colourBare: ['何色でしょうか？', 'どんな色ですか？'],
  position: ['{R}はどこですか？', '{R}の位置を教えて', '{R}は画像のどこ？', '{R}があるのはどこですか？'],
  positionBare: ['どこにあるでしょうか？', '場所はどこですか？'],
  shape: ['{R}は何の図形ですか？', '{R}の形は？', '{R}の形を教えて', '{R}って何の形？'],
  shapeBare: ['これは何の形ですか？', '形を教えて'],
  count: ['図形はいくつある？', '画像の図形は何個ですか？', '図形の数を教えて', 'この画像に図形はいくつありますか？'],
  describe: ['この画像には何がありますか？', '画像について説明してください。', '何がありますか？', 'この画像を簡単に説明して'],
} as const;

const EN_HELDOUT = {
  colour: ['Which colour is {R}?', 'Tell me the color of {R}.', 'What colour is {R} in the image?', 'What is the colour of {R} in the picture?'],
  position: ['Where is {R} located?', 'In which part of the image is {R}?', 'Tell me where {R} is in the picture.'],
  shape: ['What shape is {R} in the picture?', 'Which shape is {R} in the image?', 'Tell me which shape {R} is.'],
  shapeAt: ['What is in the {P}?', 'Tell me the shape at the {P}.', 'Which shape is in the {P} of the picture?'],
  count: ['How many shapes can you see?', 'Count the shapes in the picture.', 'How many shapes are there in the image?', 'What is the number of shapes?'],
  describe: ['Describe this picture.', 'What can you see?', 'Tell me what is in the image.', 'What do you see in the picture?'],
} as const;

/** How frames are compared: lower case, no final mark. */
export const frameKey = (frame: string): string => frame.trim().replace(/[？?。.！!]+$/, '').toLowerCase();

/**
 * Whether training frame `train` would contain held-out frame `heldout` whole. English: anywhere (every held-out
 * frame is several words). Japanese: as the whole frame, at its start (followed by an ending: "{R}の色を教えて" +
 * "ください") or right after an opener ("すみません、" + frame) — but not after content such as a place:
 * "左上には何がありますか？" (shape) may be trained although "何がありますか？" (description) is held out.
 */
export function containsHeldout(train: string, heldout: string): boolean {
  const t = frameKey(train);
  const h = frameKey(heldout);
  if (/[a-z]/.test(h)) return t.includes(h);
  return t === h || t.startsWith(h) || t.includes(`、${h}`) || t.includes(`。${h}`) || t.includes(`：${h}`);
}

/** `frames` without any that contains a held-out frame of the same language. */
function withoutHeldout(frames: readonly string[], heldout: Readonly<Record<string, readonly string[]>>): string[] {
  const all = Object.values(heldout).flat();
  return [...new Set(frames)].filter((f) => !all.some((h) => containsHeldout(f, h)));
}

// Japanese parts. Openers; endings of a question word (何色 / 何 / どこ …); "tell me" endings.
const JA_OPEN = ['', 'すみません、', 'ねえ、', 'この画像で、', '画像の中で、', '質問です。'];
const JA_Q = ['ですか？', '？', 'でしょうか？', 'ですか'];
const JA_EXIST = ['にありますか？', 'にある？', 'にあるでしょうか？'];
const JA_TEACH = ['教えてください。', '教えてくれますか？', '教えてもらえますか？', '教えてくれる？'];
const JA_COUNT = ['ありますか？', 'ある？', 'あるでしょうか？', 'ですか？', '？', '見えますか？'];
const JA_KNOW = ['教えてください。', '分かりますか？'];

/** Run 5's composed Japanese training frames, per kind, before held-out frames are taken out. */
export const JA_COMPOSED = {
  colour: combine(JA_OPEN, [
    ...combine(['{R}は何色'], [...JA_Q, 'をしていますか？', 'をしている？']),
    ...combine(['{R}はどんな色'], ['をしていますか？', 'をしている？']),
    ...combine(['{R}の色は何', '{R}は何の色'], JA_Q),
    '{R}の色は？',
    ...combine(['{R}の色を'], JA_TEACH),
    ...combine(['{R}が何色か'], JA_KNOW),
  ]),
  colourBare: combine(JA_OPEN, [...combine(['何色', 'どんな色'], ['をしていますか？']), ...combine(['何色'], JA_Q), ...combine(['色は何'], JA_Q), ...combine(['色を'], JA_TEACH)]),
  position: combine(JA_OPEN, [
    ...combine(['{R}はどこ'], [...JA_EXIST, '？', 'でしょうか？']),
    ...combine(['{R}は画像のどこ', '{R}はどの位置', '{R}はどのあたり', '{R}ってどこ'], [...JA_EXIST, 'ですか？']),
    ...combine(['{R}の位置は', '{R}の場所は'], ['どこですか？', 'どこ？', '？']),
    ...combine(['{R}の場所を'], JA_TEACH),
    ...combine(['{R}がどこにあるか'], JA_KNOW),
  ]),
  positionBare: combine(JA_OPEN, [...combine(['どこ', 'どの位置', 'どのあたり'], [...JA_EXIST, 'ですか？']), ...combine(['位置は'], ['どこですか？', '？']), ...combine(['位置を', '場所を'], JA_TEACH)]),
  /** {R} is a place or colour phrase: "左上にある図形", "赤い図形". */
  shape: combine(JA_OPEN, [
    ...combine(['{R}は何', '{R}の形は何', '{R}は何の形', '{R}はどんな形', '{R}は何という図形'], JA_Q),
    ...combine(['{R}が何の形か', '{R}がどんな形か'], JA_KNOW),
  ]),
  shapeBare: combine(JA_OPEN, [...combine(['形は何', '何の形', 'これは何の図形', 'どんな形', 'この図形は何'], JA_Q), ...combine(['何の形か'], JA_KNOW)]),
  /** A place asked directly ({P} is "左上"): the contrast of a description's "画像に何がありますか？". */
  shapeAt: combine(JA_OPEN, [
    ...combine(['{P}には何が', '{P}に何が'], ['ありますか？', 'ある？', '見えますか？']),
    ...combine(['{P}にあるのは何', '{P}の形は何', '{P}には何の形'], JA_Q),
    ...combine(['{P}に何があるか'], JA_KNOW),
  ]),
  count: combine(JA_OPEN, [
    ...combine(['図形は何個', '図形はいくつ', '画像に図形は何個', '図形って何個', '画像の中に図形は何個'], JA_COUNT),
    ...combine(['何個'], ['ありますか？', 'ある？', '見えますか？']),
    ...combine(['いくつの図形が', '何個の図形が'], ['ありますか？', 'ある？', '見えますか？']),
    ...combine(['図形の数は'], ['？', 'いくつですか？', '何個ですか？']),
    ...combine(['図形が何個あるか', '図形がいくつあるか'], JA_KNOW),
    ...combine(['図形を数えて'], ['ください。', 'くれますか？']),
  ]),
  describe: combine(['', 'すみません、', 'ねえ、', '質問です。'], [
    ...combine(['この画像を説明して', '画像を説明して', '画像について簡単に説明して'], ['ください。', 'くれますか？', 'もらえますか？']),
    ...combine(['何が見え'], ['ますか？', 'る？']),
    ...combine(['画像に何が', '画像の中に何が'], ['ありますか？', '見えますか？', 'ある？']),
    ...combine(['画像に何があるか', '何が見えるか'], JA_KNOW),
    ...combine(['どんな図形が'], ['ありますか？', '見えますか？']),
    '画像には何が見えますか？',
  ]),
} as const;

// English parts, lower case (capitalised once composed). Openers of a direct question; openers of an indirect one.
const EN_OPEN = ['', 'so, ', 'hey, ', 'please, ', 'quick question: '];
const EN_ASK: readonly (readonly [string, string])[] = [
  ['can you tell me ', '?'],
  ['could you tell me ', '?'],
  ['please tell me ', '.'],
  ['tell me ', '.'],
  ['I would like to know ', '.'],
  ['do you know ', '?'],
];
const EN_IN = ['', ' in the picture', ' in the image', ' in this picture', ' in this image'];
const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const direct = (stems: readonly string[], suffixes: readonly string[] = EN_IN): string[] => combine(EN_OPEN, stems, suffixes, ['?']).map(capitalise);
const indirect = (phrases: readonly string[], suffixes: readonly string[] = EN_IN): string[] =>
  EN_ASK.flatMap(([ask, mark]) => combine([ask], phrases, suffixes, [mark])).map(capitalise);
const imperative = (stems: readonly string[], suffixes: readonly string[]): string[] =>
  [...combine(['', 'please '], stems, suffixes, ['.']), ...combine(['can you ', 'could you '], stems, suffixes, ['?'])].map(capitalise);

/** Run 5's composed English training frames, per kind, before held-out frames are taken out. */
export const EN_COMPOSED = {
  colour: [
    ...direct(['what color is {R}', 'what colour is {R}', 'what is the color of {R}', 'what is the colour of {R}', 'which color is {R}', 'which colour is {R}', 'what color does {R} have', 'what colour does {R} have']),
    ...indirect(['the color of {R}', 'the colour of {R}', 'what color {R} is', 'what colour {R} is', 'which color {R} is']),
  ],
  position: [
    ...direct(['where is {R}', 'where can you see {R}', 'where can I find {R}', 'where do you see {R}', 'what is the position of {R}']),
    ...direct(['in which part of the picture is {R}', 'which part of the picture is {R} in', 'which part of the image is {R} in', 'in what part of the picture is {R}'], ['']),
    ...indirect(['where {R} is', 'the position of {R}', 'where {R} is located']),
  ],
  /** {R} is "the shape at the top left", "the one in the center" or "the red shape" (or "it" for a lone shape). */
  shape: [
    ...direct(['what shape is {R}', 'which shape is {R}', 'what is {R}', 'what kind of shape is {R}', 'what is the shape of {R}']),
    ...indirect(['what shape {R} is', 'which shape {R} is', 'what {R} is', 'the shape of {R}']),
  ],
  /** Asked about a place directly: {P} is "top left", "center". */
  shapeAt: [
    ...direct(
      ['what shape is at the {P}', 'which shape is at the {P}', 'what shape is in the {P}', 'which shape is in the {P}', 'what is at the {P}', 'what is there at the {P}', 'what do you see at the {P}', 'what is the shape at the {P}', 'what kind of shape is at the {P}'],
      ['', ' of the picture', ' of the image'],
    ),
    ...indirect(['the shape at the {P}', 'what is at the {P}', 'which shape is at the {P}', 'what shape is in the {P}'], ['', ' of the picture']),
  ],
  count: [
    ...direct(['how many shapes are there', 'how many shapes do you see', 'how many shapes are drawn', 'what is the total number of shapes']),
    ...direct(['how many shapes are'], EN_IN.slice(1)),
    ...direct(['how many shapes does the picture have', 'how many shapes does the image have', 'how many shapes does this picture have'], ['']),
    ...imperative(['count the shapes'], EN_IN),
    ...indirect(['how many shapes there are', 'the number of shapes', 'the total number of shapes']),
  ],
  describe: [
    ...direct(['what do you see', 'what is there', 'what is shown', 'what is drawn', 'what shapes do you see', 'what shapes can you see']),
    ...direct(['what is'], EN_IN.slice(1)),
    ...direct(['what does the picture show', 'what does the image show'], ['']),
    ...imperative(['describe the image', 'describe the picture', 'describe this image', 'describe what you see', 'describe the scene'], ['']),
    ...indirect(['what you see', 'what is in the picture', 'what is in this image', 'what the picture shows', 'what the image shows'], ['']),
  ],
} as const;

const jaFrames = (kind: keyof typeof JA_COMPOSED, heldout: readonly string[]): Frames => ({ train: withoutHeldout(JA_COMPOSED[kind], JA_HELDOUT), heldout });
const enFrames = (kind: keyof typeof EN_COMPOSED): Frames => ({ train: withoutHeldout(EN_COMPOSED[kind], EN_HELDOUT), heldout: EN_HELDOUT[kind] });

/** Japanese: {R} is a noun phrase; "bare" frames are for a lone shape left unnamed; shapeAt (training only) asks a place. */
export const JA_FRAMES = {
  colour: jaFrames('colour', JA_HELDOUT.colour),
  colourBare: jaFrames('colourBare', JA_HELDOUT.colourBare),
  position: jaFrames('position', JA_HELDOUT.position),
  positionBare: jaFrames('positionBare', JA_HELDOUT.positionBare),
  shape: jaFrames('shape', JA_HELDOUT.shape),
  shapeBare: jaFrames('shapeBare', JA_HELDOUT.shapeBare),
  shapeAt: jaFrames('shapeAt', []),
  count: jaFrames('count', JA_HELDOUT.count),
  describe: jaFrames('describe', JA_HELDOUT.describe),
} as const satisfies Record<string, Frames>;

/** English: {R} is "the star", "the shape at the top left", "the red shape", or "it" (lone shape). */
export const EN_FRAMES = {
  colour: enFrames('colour'),
  position: enFrames('position'),
  shape: enFrames('shape'),
  shapeAt: enFrames('shapeAt'),
  count: enFrames('count'),
  describe: enFrames('describe'),
} as const satisfies Record<string, Frames>;

/** Japanese shape nouns a question may use for each shape (the answers keep the first). */
export const JA_SHAPE_NOUNS = { circle: ['丸', '円'], square: ['四角', '四角形'], triangle: ['三角', '三角形'], star: ['星', '星形'] } as const;
