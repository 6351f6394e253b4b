/** Maps a file-system failure while writing a package to a SarashinaError naming the file and tensor. */
import { SarashinaError } from '../../protocol/errors';

export function fileWriteError(file: string, cause: unknown, tensor?: string): SarashinaError {
  const code = (cause as { code?: string } | null)?.code ?? 'unknown';
  const during = tensor ? ` while writing tensor ${tensor}` : '';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SarashinaError('storage-quota-exceeded', `The disk is full: writing ${file} failed (${code})${during}. Free space or choose another --out; the partial package was removed.`, { file, ...(tensor ? { tensor } : {}) }, { cause });
  }
  return new SarashinaError('internal', `Writing ${file} failed (${code}: ${String(cause)})${during}. Check permissions and free space; the partial package was removed.`, { file, code, ...(tensor ? { tensor } : {}) }, { cause });
}
