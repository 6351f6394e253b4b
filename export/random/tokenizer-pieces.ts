/**
 * Inventory of ordinary pieces for the random checkpoint's Sarashina-style tokenizer
 * (tokenizer-files.ts). Hand-written data, not a real vocabulary: enough Japanese and English that prompts
 * tokenize into plausible multi-character pieces, with `▁` where SentencePiece puts a space. Newline and
 * tab are deliberately absent (as in Sarashina's vocabulary), so they take the byte-fallback path.
 */

/** One category of pieces; `baseScore` is the log-probability of its most frequent member. */
export interface PieceGroup {
  readonly name: string;
  readonly pieces: readonly string[];
  readonly baseScore: number;
}

const range = (from: number, to: number): string[] => {
  const out: string[] = [];
  for (let cp = from; cp <= to; cp++) out.push(String.fromCodePoint(cp));
  return out;
};

const words = (text: string): string[] => text.split(' ').filter((w) => w.length > 0);

const HIRAGANA = range(0x3041, 0x3096);
const KATAKANA = [...range(0x30a1, 0x30fa), 'ー'];
const ASCII_LETTERS = [...range(0x61, 0x7a), ...range(0x41, 0x5a)];
const DIGITS = range(0x30, 0x39);
const ASCII_PUNCT = [...range(0x21, 0x2f), ...range(0x3a, 0x40), ...range(0x5b, 0x60), ...range(0x7b, 0x7e)];
const JA_PUNCT = [...'、。「」『』（）！？：・〜…【】％＆＋－＝／　'];

/** Frequent kanji (a short, hand-picked list; the full CJK block fills large vocabularies later). */
export const COMMON_KANJI = [
  ...('日一国人年大十二本中長出三時行見月分後前生五間上東四今金九入学高円子外八六下来気小七山話女北午百書先名' +
    '川千水半男西電校語土木聞食車何南万毎白天母火右読友左休父雨会社者事自業内部方地動同新発的対多全定度' +
    '実公開理場合問数文化当明作家用意物体成手力者市最現京都所政通性目主連画像写真説明質答色形文字表示' +
    '岸海空花犬猫鳥魚肉米茶店駅道路町村県府島橋建物館院病医薬歩走止乗降送届使持思考知感情心愛好楽安'),
];

const EN_WORDS = words(
  'the of and to in is you that it he was for on are as with his they at be this have from or one had by ' +
    'word but not what all were we when your can said there use an each which she do how their if will up ' +
    'other about out many then them these so some her would make like him into time has look two more write ' +
    'go see number no way could people my than first water been call who its now find long down day did get ' +
    'come made may part image picture photo describe Hello hello world chat human Human Assistant assistant ' +
    'question questions answer answers helpful detailed polite curious artificial intelligence gives The A ' +
    'What Please please color red blue green white black cat dog Tokyo Japan Japanese English text shown ' +
    'left right top bottom there here very good new old small large',
);

const EN_SUBWORDS = words("ing ed er ly s es tion ation ment ness able ful less est 's n't re un pre ous ive al ic");

const JA_WORDS = words(
  'これ それ あれ この その あの ここ そこ です ます でした ました ません ください ありがとう こんにちは ' +
    'こんばんは おはよう ございます について という ような ように こと もの ため から まで より けど ので ' +
    'して した する される されて います いる ある あります ない なく なる なり れる られる たい ている ' +
    'てい には では とは への での なに 何か どこ どの だれ いつ なぜ どう はい いいえ 写真 画像 日本 東京 ' +
    '日本語 英語 説明 質問 答え 回答 場所 建物 有名 最も 考え 写って 写っている 色 文字 猫 犬 空 海 花 ' +
    '今日 明日 昨日 時間 世界 会社 学校 先生 学生 天気 電車 駅前 自分 私 僕 彼 彼女 一つ 二つ 左側 右側 ' +
    'カメラ コーヒー ケーキ テーブル パソコン ロケット アイス サービス システム データ モデル',
);

const EMOJI_IN_VOCAB = ['😊', '👍', '❤', '✨', '🎉'];

/** Runs of one character: they make Unigram ties (the same multiset of pieces in another order) likely. */
const REPEATS = words('ーー ーーー ああ っっ !! ?? .. …… == === ww ｗｗ ｗｗｗ 00 000');

const MARKUP = words('### ## # ** -- ... :: // ( ) [ ] { } http https :// .com www 2024 2025 2026 100 10 20');

/**
 * The ordered groups, most important first: when the vocabulary is small, later groups are truncated.
 * Scores fall with position inside a group (Zipf-like), so early members are "more frequent".
 */
export const PIECE_GROUPS: readonly PieceGroup[] = [
  { name: 'space', pieces: ['▁', '▁▁', '▁▁▁▁'], baseScore: -4 },
  { name: 'ja-punct', pieces: JA_PUNCT, baseScore: -5 },
  { name: 'hiragana', pieces: HIRAGANA, baseScore: -5.5 },
  { name: 'ascii-letters', pieces: ASCII_LETTERS, baseScore: -6.5 },
  { name: 'digits', pieces: DIGITS, baseScore: -6.5 },
  { name: 'ascii-punct', pieces: ASCII_PUNCT, baseScore: -6.5 },
  { name: 'katakana', pieces: KATAKANA, baseScore: -7 },
  { name: 'kanji', pieces: COMMON_KANJI, baseScore: -7.5 },
  { name: 'ja-words', pieces: JA_WORDS, baseScore: -7 },
  { name: 'en-words', pieces: EN_WORDS.map((w) => `▁${w}`), baseScore: -7 },
  { name: 'en-words-bare', pieces: EN_WORDS.slice(0, 60), baseScore: -9 },
  { name: 'en-subwords', pieces: EN_SUBWORDS, baseScore: -8.5 },
  { name: 'space-letters', pieces: [...ASCII_LETTERS, ...DIGITS].map((c) => `▁${c}`), baseScore: -8.5 },
  { name: 'markup', pieces: [...MARKUP, ...MARKUP.map((m) => `▁${m}`)], baseScore: -8 },
  { name: 'repeats', pieces: REPEATS, baseScore: -8 },
  { name: 'emoji', pieces: EMOJI_IN_VOCAB, baseScore: -10 },
];

/** Alphabets that synthetic filler pieces are drawn from (deterministically, see tokenizer-files.ts). */
export const FILLER_ALPHABETS: readonly (readonly string[])[] = [
  HIRAGANA,
  KATAKANA,
  COMMON_KANJI,
  range(0x61, 0x7a),
];

/** Index of the Latin alphabet in FILLER_ALPHABETS. */
export const LATIN_FILLER_INDEX = 3;

/** First and last code point of the CJK Unified Ideographs block, used to fill large vocabularies. */
export const CJK_BLOCK = { first: 0x4e00, last: 0x9fff } as const;
