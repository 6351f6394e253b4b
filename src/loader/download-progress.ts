/** Aggregate download progress over all bytes of all files, with a rate and an ETA. */

export interface DownloadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly filesDone: number;
  readonly filesTotal: number;
  /** Smoothed over the last few seconds; 0 until measurable. */
  readonly bytesPerSecond: number;
  /** Seconds left at the current rate; null while unknown. */
  readonly etaSeconds: number | null;
  /** The file that advanced last. */
  readonly currentFile: string | null;
}

const WINDOW_MS = 5000;

export class ProgressTracker {
  private loaded = 0;
  private filesDone = 0;
  private samples: { t: number; bytes: number }[] = [];
  private currentFile: string | null = null;

  constructor(
    private readonly totalBytes: number,
    private readonly filesTotal: number,
    private readonly emit: (p: DownloadProgress) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Bytes found already cached: they count as loaded but not towards the rate. */
  addCached(bytes: number, fileDone: boolean): void {
    this.loaded += bytes;
    if (fileDone) this.filesDone++;
    this.report();
  }

  addDownloaded(file: string, bytes: number): void {
    this.loaded += bytes;
    this.currentFile = file;
    const t = this.now();
    this.samples.push({ t, bytes: this.loaded });
    while (this.samples.length > 2 && (this.samples[0]?.t ?? t) < t - WINDOW_MS) this.samples.shift();
    this.report();
  }

  /** A partial file was thrown away (restart or corruption): its bytes no longer count. */
  retract(bytes: number): void {
    this.loaded -= bytes;
    this.samples = [];
    this.report();
  }

  fileDone(): void {
    this.filesDone++;
    this.report();
  }

  snapshot(): DownloadProgress {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = first && last ? (last.t - first.t) / 1000 : 0;
    const rate = first && last && dt > 0.2 ? (last.bytes - first.bytes) / dt : 0;
    return {
      loadedBytes: this.loaded,
      totalBytes: this.totalBytes,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      bytesPerSecond: rate,
      etaSeconds: rate > 0 ? Math.max(0, (this.totalBytes - this.loaded) / rate) : null,
      currentFile: this.currentFile,
    };
  }

  private report(): void {
    this.emit(this.snapshot());
  }
}
