/**
 * The component's visible text, Japanese first (the model's language) with English available. One table,
 * so a translation is one object; `lang` picks it.
 */
import type { ErrorCode } from '../protocol/errors';

export type UiLang = 'ja' | 'en';

export interface UiStrings {
  readonly title: string;
  readonly downloading: string;
  readonly preparing: string;
  readonly phase: { readonly download: string; readonly convert: string; readonly upload: string; readonly compile: string };
  /** A checkpoint's bytes downloaded while converting (after the byte line). */
  readonly downloadedLabel: string;
  readonly cancel: string;
  readonly cancelled: string;
  readonly load: string;
  readonly noModel: string;
  readonly etaLabel: string;
  readonly unknownEta: string;
  readonly filesLabel: string;
  readonly inputPlaceholder: string;
  readonly inputLabel: string;
  readonly send: string;
  readonly stop: string;
  readonly retry: string;
  readonly clear: string;
  readonly attach: string;
  readonly removeImage: string;
  readonly imageAlt: string;
  readonly you: string;
  readonly assistant: string;
  readonly messagesLabel: string;
  readonly emptyHint: string;
  readonly stopped: string;
  readonly truncated: string;
  /** Under an answer whose request was fitted to the context (usage.truncation): what was left out or shrunk. */
  readonly contextDropped: (messages: number) => string;
  readonly contextResized: (images: number) => string;
  readonly errorTitle: string;
  readonly loadErrorTitle: string;
  readonly capabilityTitle: string;
  /** What went wrong and what the user can do, per error code the capability screen handles. */
  readonly capability: Partial<Record<ErrorCode, { readonly what: string; readonly todo: readonly string[] }>>;
  /** What the user can do when a request fails with this code (shown above the engine's own message). */
  readonly requestError: Partial<Record<ErrorCode, string>>;
  /** Under a failed request's error: its message was taken out of the conversation and put back in the input box. */
  readonly messageReturned: (unreadableImages: number) => string;
  readonly details: string;
  readonly tryAgain: string;
}

const JA: UiStrings = {
  title: 'Sarashina2-Vision チャット',
  downloading: 'モデルをダウンロードしています',
  preparing: 'モデルを準備しています',
  phase: { download: 'ダウンロード中', convert: 'ダウンロードして変換中', upload: 'GPU へ転送中', compile: 'シェーダーを準備中' },
  downloadedLabel: 'ダウンロード済み',
  cancel: 'キャンセル',
  cancelled: 'ダウンロードをキャンセルしました。',
  load: 'モデルを読み込む',
  noModel: 'model 属性にモデルパッケージの URL を指定してください。',
  etaLabel: '残り',
  unknownEta: '残り時間を計算中',
  filesLabel: 'ファイル',
  inputPlaceholder: 'メッセージを入力(Enter で送信、Shift+Enter で改行)',
  inputLabel: 'メッセージ',
  send: '送信',
  stop: '停止',
  retry: 'もう一度生成',
  clear: '会話をクリア',
  attach: '画像を追加',
  removeImage: '画像を削除',
  imageAlt: '添付画像',
  you: 'あなた',
  assistant: 'アシスタント',
  messagesLabel: '会話',
  emptyHint: '画像を貼り付け・ドロップ・選択して、質問を入力してください。',
  stopped: '(生成を停止しました)',
  truncated: '(最大トークン数に達しました)',
  contextDropped: (n) => `古いメッセージ ${n} 件はコンテキストに収まらないため、この回答には使われていません。`,
  contextResized: (n) => `画像 ${n} 枚をコンテキストに収まるよう縮小しました。`,
  errorTitle: 'エラー',
  loadErrorTitle: 'モデルを読み込めませんでした',
  capabilityTitle: 'この環境ではモデルを実行できません',
  capability: {
    'webgpu-unavailable': {
      what: 'このブラウザーでは WebGPU が使えません。',
      todo: [
        'Chrome または Edge の最新版(113 以降)で開いてください。',
        'Linux では chrome://flags で「Unsafe WebGPU Support」を有効にしてください。',
        'Safari は 26 以降、Firefox は 141 以降(Windows)で WebGPU が使えます。',
        'chrome://gpu で WebGPU が「Hardware accelerated」になっているか確認してください。',
      ],
    },
    'gpu-feature-missing': {
      what: 'この GPU には、このモデルに必要な機能がありません。',
      todo: ['q4f32 のモデルパッケージを使ってください(model 属性をその URL にします)。', 'ブラウザーと GPU ドライバーを最新にしてください。'],
    },
    'gpu-limits-too-low': {
      what: 'この GPU の上限(バッファーサイズなど)がモデルに足りません。',
      todo: ['より小さいモデルか、より短いコンテキスト(context-tokens 属性)を試してください。', '別の GPU(外部 GPU など)のあるパソコンで開いてください。'],
    },
    'out-of-memory': {
      what: 'GPU メモリーが足りません。',
      todo: ['他のタブやアプリを閉じてから再読み込みしてください。', 'context-tokens 属性でコンテキストを短くしてください。'],
    },
    'device-lost': {
      what: 'GPU との接続が失われました。',
      todo: ['ページを再読み込みしてください。', '他の GPU を使うアプリを閉じてください。'],
    },
    'worker-unavailable': {
      what: 'このページではモデルを動かす Worker を起動できません。',
      todo: [
        'ページの Content-Security-Policy で worker-src に blob: (またはパッケージの配信元)を許可してください。',
        '別のオリジンから読み込む場合は、配信元が CORS ヘッダー(Access-Control-Allow-Origin)を返すようにしてください。',
      ],
    },
    'storage-quota-exceeded': {
      what: 'モデルを保存する空き容量が足りません。',
      todo: ['ディスクの空き容量を増やしてください。', 'このサイトのデータを削除してからもう一度試してください。'],
    },
  },
  requestError: {
    'context-overflow': 'メッセージが長すぎてコンテキストに収まりません。短くするか、画像を減らすか、max-tokens を下げてください。',
    'image-too-large': '画像が大きすぎます。小さい画像を使うか、max-pixels を下げてください。',
    'invalid-request': 'リクエストが正しくありません。画像の形式と属性の値を確認してください。',
    'invalid-model': 'モデルパッケージに問題があります(チャットテンプレートなど)。別のパッケージを使ってください。',
    'out-of-memory': 'GPU メモリーが足りません。他のタブを閉じるか、画像を減らしてください。',
  },
  messageReturned: (n) => `このメッセージは会話に残さず、入力欄に戻しました${n > 0 ? '(読み込めなかった画像は除きました)' : ''}。直して送信できます。`,
  details: '詳細',
  tryAgain: '再試行',
};

const EN: UiStrings = {
  title: 'Sarashina2-Vision chat',
  downloading: 'Downloading the model',
  preparing: 'Preparing the model',
  phase: { download: 'Downloading', convert: 'Downloading and converting', upload: 'Uploading to the GPU', compile: 'Compiling shaders' },
  downloadedLabel: 'downloaded',
  cancel: 'Cancel',
  cancelled: 'The download was cancelled.',
  load: 'Load the model',
  noModel: 'Set the model attribute to the URL of a model package.',
  etaLabel: 'left',
  unknownEta: 'estimating time left',
  filesLabel: 'files',
  inputPlaceholder: 'Type a message (Enter sends, Shift+Enter adds a line)',
  inputLabel: 'Message',
  send: 'Send',
  stop: 'Stop',
  retry: 'Regenerate',
  clear: 'Clear conversation',
  attach: 'Add images',
  removeImage: 'Remove image',
  imageAlt: 'Attached image',
  you: 'You',
  assistant: 'Assistant',
  messagesLabel: 'Conversation',
  emptyHint: 'Paste, drop or pick images, then ask a question.',
  stopped: '(stopped)',
  truncated: '(reached the token limit)',
  contextDropped: (n) => `The oldest ${n} message${n === 1 ? '' : 's'} did not fit the context and ${n === 1 ? 'was' : 'were'} left out of this answer.`,
  contextResized: (n) => `${n} image${n === 1 ? ' was' : 's were'} shrunk to fit the context.`,
  errorTitle: 'Error',
  loadErrorTitle: 'Could not load the model',
  capabilityTitle: 'This browser or GPU cannot run the model',
  capability: {
    'webgpu-unavailable': {
      what: 'WebGPU is not available in this browser.',
      todo: [
        'Open this page in a recent Chrome or Edge (113 or later).',
        'On Linux, enable "Unsafe WebGPU Support" in chrome://flags.',
        'Safari 26+ and Firefox 141+ (Windows) also have WebGPU.',
        'Check chrome://gpu: WebGPU should say "Hardware accelerated".',
      ],
    },
    'gpu-feature-missing': {
      what: 'This GPU lacks a feature this model needs.',
      todo: ['Use a q4f32 model package (point the model attribute at it).', 'Update the browser and the GPU driver.'],
    },
    'gpu-limits-too-low': {
      what: "This GPU's limits (buffer sizes) are too low for this model.",
      todo: ['Try a smaller model or a shorter context (the context-tokens attribute).', 'Open the page on a computer with a larger GPU.'],
    },
    'out-of-memory': {
      what: 'The GPU ran out of memory.',
      todo: ['Close other tabs and apps, then reload.', 'Use a shorter context (the context-tokens attribute).'],
    },
    'device-lost': {
      what: 'The connection to the GPU was lost.',
      todo: ['Reload the page.', 'Close other apps that use the GPU.'],
    },
    'worker-unavailable': {
      what: "This page cannot start the model's Worker.",
      todo: [
        "Allow it in the page's Content-Security-Policy: worker-src blob: (or the package's origin).",
        'When the package is loaded from another origin, its server must send CORS headers (Access-Control-Allow-Origin).',
      ],
    },
    'storage-quota-exceeded': {
      what: 'There is not enough storage to keep the model.',
      todo: ['Free disk space.', "Delete this site's data, then try again."],
    },
  },
  requestError: {
    'context-overflow': 'The message is too long for the context. Shorten it, send fewer images, or lower max-tokens.',
    'image-too-large': 'The image is too large. Use a smaller image or lower max-pixels.',
    'invalid-request': 'The request is not valid. Check the image format and the attribute values.',
    'invalid-model': 'The model package is faulty (its chat template, for example). Use another package.',
    'out-of-memory': 'The GPU ran out of memory. Close other tabs or send fewer images.',
  },
  messageReturned: (n) => `This message was taken out of the conversation and put back in the input box${n > 0 ? ' (without the image that could not be read)' : ''}: edit it and send again.`,
  details: 'Details',
  tryAgain: 'Try again',
};

const TABLE: Record<UiLang, UiStrings> = { ja: JA, en: EN };

/** The strings for a `lang` attribute value: 'en' (or en-*) → English, anything else → Japanese. */
export function uiStrings(lang: string | null | undefined): UiStrings {
  return TABLE[uiLang(lang)];
}

/** Normalises a `lang` attribute value to a table key. */
export function uiLang(lang: string | null | undefined): UiLang {
  return lang?.toLowerCase().startsWith('en') ? 'en' : 'ja';
}
