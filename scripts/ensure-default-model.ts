/**
 * `prestart` / `prebuild`: makes the demo's default model package (demo/public/models/default/, git-ignored)
 * with the project's own exporter, unless it is already up to date. "Up to date" means its stamp names the
 * same checkpoint folder, precision, exporter version and the same sha256 of every checkpoint file; anything
 * else re-exports (a few seconds for the small default models). Pass --force to re-export anyway.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXPORTER_VERSION, exportPackage } from '../export/package/export-package';
import { isSarashinaError } from '../src/protocol/errors';
import {
  DEFAULT_CHECKPOINT_CANDIDATES,
  DEFAULT_MODEL_DIR,
  DEFAULT_MODEL_PRECISION,
  DEFAULT_MODEL_STAMP_FILE,
  REPO_ROOT,
} from './default-model';

interface ExportStamp {
  readonly checkpoint: string;
  readonly precision: string;
  readonly exporterVersion: string;
  /** sha256 (hex) of each checkpoint file, by file name. */
  readonly files: Record<string, string>;
}

/** A folder is a checkpoint once it has its config and its weights (a training run may have written only the config yet). */
function isCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && (existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')));
}

/** The first candidate folder that is a complete checkpoint (repository-relative), or an error naming all candidates. */
function chooseCheckpoint(): string {
  const found = DEFAULT_CHECKPOINT_CANDIDATES.find((c) => isCheckpoint(join(REPO_ROOT, c)));
  if (!found) {
    throw new Error(`No default checkpoint found: none of ${DEFAULT_CHECKPOINT_CANDIDATES.join(', ')} holds config.json and model.safetensors. Restore the repository's checkpoint folders (git checkout).`);
  }
  return found;
}

async function stampOf(checkpoint: string): Promise<ExportStamp> {
  const dir = join(REPO_ROOT, checkpoint);
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  const files: Record<string, string> = {};
  for (const name of names) files[name] = createHash('sha256').update(await readFile(join(dir, name))).digest('hex');
  return { checkpoint, precision: DEFAULT_MODEL_PRECISION, exporterVersion: EXPORTER_VERSION, files };
}

async function readStamp(): Promise<ExportStamp | null> {
  try {
    return JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, DEFAULT_MODEL_STAMP_FILE), 'utf8')) as ExportStamp;
  } catch {
    return null;
  }
}

async function main(force: boolean): Promise<void> {
  const checkpoint = chooseCheckpoint();
  const wanted = await stampOf(checkpoint);
  const have = await readStamp();
  if (!force && have && JSON.stringify(have) === JSON.stringify(wanted) && existsSync(join(DEFAULT_MODEL_DIR, 'manifest.json'))) {
    console.log(`default model: up to date (${checkpoint}, ${DEFAULT_MODEL_PRECISION})`);
    return;
  }
  const started = performance.now();
  const result = await exportPackage(join(REPO_ROOT, checkpoint), DEFAULT_MODEL_DIR, { precision: DEFAULT_MODEL_PRECISION, overwrite: true });
  await writeFile(join(DEFAULT_MODEL_DIR, DEFAULT_MODEL_STAMP_FILE), `${JSON.stringify(wanted, null, 2)}\n`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`default model: exported ${checkpoint} (${DEFAULT_MODEL_PRECISION}, ${(result.totalBytes / 2 ** 20).toFixed(1)} MiB) into demo/public/models/default/ in ${seconds} s`);
}

main(process.argv.includes('--force')).catch((e: unknown) => {
  console.error(isSarashinaError(e) ? `default model: ${e.code}: ${e.message}` : `default model: ${String(e)}`);
  process.exit(1);
});
