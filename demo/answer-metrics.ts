/** The line the demo shows under the chat after each answer: time to first token, image encoding, decode speed. */
import type { ChatMessageDetail } from '../src/component/index';

/** One answer's figures, rounded for display (ms, ms, tokens per second). Null when the answer has no timings (stopped early). */
export function answerMetrics(detail: ChatMessageDetail): { ttftMs: number; imageEncodeMs: number; tokensPerSecond: number; completionTokens: number } | null {
  const t = detail.timings;
  if (!t) return null;
  return {
    ttftMs: Math.round(t.timeToFirstTokenMs),
    imageEncodeMs: Math.round(t.imageEncodeMs),
    tokensPerSecond: Math.round(t.decodeTokensPerSecond * 10) / 10,
    completionTokens: detail.usage?.completion_tokens ?? 0,
  };
}

/** Renders the figures into `target` as a definition list (Japanese labels with English in the title). */
export function showAnswerMetrics(target: HTMLElement, detail: ChatMessageDetail): void {
  const m = answerMetrics(detail);
  target.replaceChildren();
  if (!m) {
    target.textContent = '計測なし(停止しました) · no timings (stopped)';
    return;
  }
  const items: [string, string, string, string][] = [
    ['ttft', '最初のトークンまで', 'time to first token', `${m.ttftMs} ms`],
    ['image-encode', '画像エンコード', 'image encode', `${m.imageEncodeMs} ms`],
    ['tokens-per-second', '生成速度', 'decode speed', `${m.tokensPerSecond} tok/s`],
    ['tokens', '生成トークン', 'tokens generated', String(m.completionTokens)],
  ];
  const dl = document.createElement('dl');
  for (const [key, ja, en, value] of items) {
    const div = document.createElement('div');
    div.dataset.metric = key;
    const dt = document.createElement('dt');
    dt.textContent = ja;
    dt.title = en;
    const dd = document.createElement('dd');
    dd.textContent = value;
    div.append(dt, dd);
    dl.append(div);
  }
  target.append(dl);
}
