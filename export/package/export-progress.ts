/** Export progress: bytes of checkpoint tensors converted, with a rate and an ETA. */

export interface ExportProgress {
  readonly doneBytes: number;
  readonly totalBytes: number;
  readonly bytesPerSecond: number;
  /** null until a rate is known. */
  readonly etaSeconds: number | null;
  /** The tensor just finished. */
  readonly tensor: string;
}

export class ExportProgressTracker {
  private doneBytes = 0;
  private readonly startMs = Date.now();

  constructor(
    private readonly totalBytes: number,
    private readonly onProgress?: (p: ExportProgress) => void,
  ) {}

  add(bytes: number, tensor: string): void {
    this.doneBytes += bytes;
    if (!this.onProgress) return;
    const seconds = (Date.now() - this.startMs) / 1000;
    const bytesPerSecond = seconds > 0 ? this.doneBytes / seconds : 0;
    const etaSeconds = bytesPerSecond > 0 ? (this.totalBytes - this.doneBytes) / bytesPerSecond : null;
    this.onProgress({ doneBytes: this.doneBytes, totalBytes: this.totalBytes, bytesPerSecond, etaSeconds, tensor });
  }
}

/** "1.2 GB / 16.0 GB (7%) 85.3 MB/s, ETA 3m 05s". */
export function formatExportProgress(p: ExportProgress): string {
  const pct = p.totalBytes > 0 ? Math.floor((100 * p.doneBytes) / p.totalBytes) : 100;
  const eta = p.etaSeconds === null ? '?' : `${Math.floor(p.etaSeconds / 60)}m ${String(Math.round(p.etaSeconds % 60)).padStart(2, '0')}s`;
  return `${formatBytes(p.doneBytes)} / ${formatBytes(p.totalBytes)} (${pct}%) ${formatBytes(p.bytesPerSecond)}/s, ETA ${eta}`;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

/**
 * An `onProgress` that prints "<label> <progress>" to stderr at most every 500 ms (and at the end):
 * one rewritten line on a terminal, one line each otherwise (logs). Call the returned `done` after.
 */
export function stderrProgress(label: string): { readonly onProgress: (p: ExportProgress) => void; readonly done: () => void } {
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  return {
    onProgress: (p) => {
      const now = Date.now();
      if (p.doneBytes < p.totalBytes && now - lastLine < 500) return;
      lastLine = now;
      const line = `${label} ${formatExportProgress(p)}`;
      if (tty) process.stderr.write(`\r${line.padEnd(100)}`);
      else process.stderr.write(`${line}\n`);
    },
    done: () => {
      if (tty) process.stderr.write('\n');
    },
  };
}
