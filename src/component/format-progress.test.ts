import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatTransfer, progressPercent } from './format-progress';

describe('format-progress', () => {
  it('formats bytes with 3 significant digits in decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1234)).toBe('1.23 KB');
    expect(formatBytes(45_600_000)).toBe('45.6 MB');
    expect(formatBytes(512_000_000)).toBe('512 MB');
    expect(formatBytes(4_500_000_000)).toBe('4.50 GB');
    expect(formatBytes(Number.NaN)).toBe('0 B');
  });

  it('formats durations in Japanese and English', () => {
    expect(formatDuration(4.2, 'ja')).toBe('5秒');
    expect(formatDuration(184, 'ja')).toBe('3分4秒');
    expect(formatDuration(3720, 'ja')).toBe('1時間2分');
    expect(formatDuration(184, 'en')).toBe('3 min 4 s');
    expect(formatDuration(3720, 'en')).toBe('1 h 2 min');
  });

  it('percent is clamped and 0 for an unknown total', () => {
    expect(progressPercent({ loadedBytes: 50, totalBytes: 200 })).toBe(25);
    expect(progressPercent({ loadedBytes: 300, totalBytes: 200 })).toBe(100);
    expect(progressPercent({ loadedBytes: 5, totalBytes: 0 })).toBe(0);
  });

  it('transfer line shows the rate only once measured', () => {
    expect(formatTransfer({ loadedBytes: 1_000_000, totalBytes: 2_000_000, bytesPerSecond: 0 })).toBe('1.00 MB / 2.00 MB');
    expect(formatTransfer({ loadedBytes: 1_000_000, totalBytes: 2_000_000, bytesPerSecond: 250_000 })).toBe('1.00 MB / 2.00 MB · 250 KB/s');
  });
});
