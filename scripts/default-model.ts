/**
 * The demo's built-in default model: which checkpoint it is exported from, with which precision, and where
 * the package goes. One place to change when the trained default model (issue 8) lands.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Precision } from '../src/protocol/manifest';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Hugging Face checkpoint folders, best first (repository-relative). The first that holds a config.json is
 * exported: the trained small model when its folder exists, else the random tiny test checkpoint.
 */
export const DEFAULT_CHECKPOINT_CANDIDATES: readonly string[] = ['export/train/checkpoint', 'export/reference/fixtures/tiny/checkpoint'];

/** The default package's precision: q4f32 runs on every WebGPU adapter (no shader-f16 needed). */
export const DEFAULT_MODEL_PRECISION: Precision = 'q4f32';

/** Where the package is written: Vite serves demo/public/ at the site root, so the model URL is /models/default/. */
export const DEFAULT_MODEL_DIR = join(REPO_ROOT, 'demo/public/models/default');

/** The URL path the demo loads the default model from. */
export const DEFAULT_MODEL_URL = '/models/default/';

/** Written next to the package: what it was exported from, to skip the export when nothing changed. */
export const DEFAULT_MODEL_STAMP_FILE = 'export-stamp.json';
