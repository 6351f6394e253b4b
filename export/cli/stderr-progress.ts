/** Progress lines on stderr for the Node CLIs (the converter's progress is src/convert/package/export-progress.ts). */
import { type ExportProgress, formatExportProgress } from '../../src/convert/package/export-progress';

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
