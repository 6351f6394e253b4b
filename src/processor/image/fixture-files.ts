// Test-only helpers: where the Hugging Face parity fixtures live and how to read them (Node).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** export/reference/fixtures/processor-image, made by export/reference/processor_image.py on the GPU machine. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../../export/reference/fixtures/processor-image/', import.meta.url));

export function fixtureBytes(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURE_DIR + relative));
}

export function fixtureJson<T>(relative: string): T {
  return JSON.parse(readFileSync(FIXTURE_DIR + relative, 'utf8')) as T;
}

export function fixtureGunzip(relative: string): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(FIXTURE_DIR + relative)));
}
