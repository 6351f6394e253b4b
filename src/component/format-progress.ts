/** Load progress as people read it: bytes, percent, rate and time left, in the UI language. */
import type { LoadProgress } from '../protocol/api';
import type { UiLang } from './ui-strings';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** `sizeBytes` in decimal units with 3 significant digits: 1.23 GB, 512 KB, 0 B. */
export function formatBytes(sizeBytes: number): string {
  if (!Number.isFinite(sizeBytes) || sizeBytes <= 0) return '0 B';
  let value = sizeBytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** `seconds` as h/m/s in the UI language: "1時間2分", "3分4秒", "5秒" / "1 h 2 min", "3 min 4 s", "5 s". */
export function formatDuration(seconds: number, lang: UiLang): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (lang === 'ja') return h > 0 ? `${h}時間${m}分` : m > 0 ? `${m}分${r}秒` : `${r}秒`;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${r} s` : `${r} s`;
}

/** Whole percent done, 0..100 (0 while the total is unknown). */
export function progressPercent(p: Pick<LoadProgress, 'loadedBytes' | 'totalBytes'>): number {
  if (!(p.totalBytes > 0)) return 0;
  return Math.min(100, Math.max(0, Math.floor((100 * p.loadedBytes) / p.totalBytes)));
}

/** "12.3 MB / 4.50 GB · 2.10 MB/s" — the byte line under the progress bar. */
export function formatTransfer(p: Pick<LoadProgress, 'loadedBytes' | 'totalBytes' | 'bytesPerSecond'>): string {
  const rate = p.bytesPerSecond > 0 ? ` · ${formatBytes(p.bytesPerSecond)}/s` : '';
  return `${formatBytes(p.loadedBytes)} / ${formatBytes(p.totalBytes)}${rate}`;
}
