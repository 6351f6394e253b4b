/** Conversion progress: bytes of checkpoint tensors converted (and read), with a rate and an ETA. */

export interface ExportProgress {
  /** Checkpoint bytes of the tensors converted so far (those a resumed conversion had converted included). */
  readonly doneBytes: number;
  readonly totalBytes: number;
  /** Bytes read from the checkpoint by this run (headers included; a remote source's bytes downloaded). */
  readonly readBytes: number;
  readonly bytesPerSecond: number;
  /** null until a rate is known. */
  readonly etaSeconds: number | null;
  /** The tensor just finished. */
  readonly tensor: string;
  /** Planned weights done (resumed ones included) and in all. */
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
}

export class ExportProgressTracker {
  private doneBytes = 0;
  /** Bytes converted by this run (the rate's numerator: resumed bytes took no time). */
  private convertedBytes = 0;
  private readonly startMs = Date.now();

  constructor(
    private readonly totalBytes: number,
    private readonly onProgress?: (p: ExportProgress) => void,
    /** Bytes read from the source so far (a counting source), or 0. */
    private readonly readBytes: () => number = () => 0,
    private readonly tensorsTotal = 0,
  ) {}

  private tensorsDone = 0;

  /** A tensor of `bytes` checkpoint bytes is done; `resumed`: an interrupted run had converted it. */
  add(bytes: number, tensor: string, resumed = false): void {
    this.doneBytes += bytes;
    this.tensorsDone++;
    if (!resumed) this.convertedBytes += bytes;
    if (!this.onProgress) return;
    const seconds = (Date.now() - this.startMs) / 1000;
    const bytesPerSecond = seconds > 0 ? this.convertedBytes / seconds : 0;
    const etaSeconds = bytesPerSecond > 0 ? (this.totalBytes - this.doneBytes) / bytesPerSecond : null;
    this.onProgress({ doneBytes: this.doneBytes, totalBytes: this.totalBytes, readBytes: this.readBytes(), bytesPerSecond, etaSeconds, tensor, tensorsDone: this.tensorsDone, tensorsTotal: this.tensorsTotal });
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
