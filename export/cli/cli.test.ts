// The two exporter CLIs as a user runs them: `npm run random-checkpoint` then `npm run export`, and the
// written package verifies (every file's size and sha256 as the manifest lists them); several precisions write
// variants.json and a package per precision.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { packageFiles, parseManifest } from '../../src/protocol/manifest';
import { parseVariantIndex } from '../../src/protocol/variant-index';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'cli-'));

describe('exporter CLIs', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('random-checkpoint (tiny) → export (q4f32) writes a package whose manifest verifies', async () => {
    const checkpoint = join(dir, 'ckpt');
    const out = join(dir, 'pkg');
    await run('npm', ['run', '--silent', 'random-checkpoint', '--', '--preset', 'tiny', '--seed', '3', '--out', checkpoint]);
    const { stdout } = await run('npm', ['run', '--silent', 'export', '--', checkpoint, '--out', out, '--precision', 'q4f32']);
    expect(stdout).toMatch(/Wrote .*q4f32/);
    const manifest = parseManifest(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')));
    expect(manifest.precision).toBe('q4f32');
    for (const f of packageFiles(manifest)) {
      const bytes = readFileSync(join(out, f.path));
      expect(bytes.byteLength, f.path).toBe(f.sizeBytes);
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
    }
  });

  it('export with several precisions writes one package per precision and variants.json', async () => {
    const checkpoint = join(dir, 'ckpt');
    const out = join(dir, 'variants');
    const { stdout } = await run('npm', ['run', '--silent', 'export', '--', checkpoint, '--out', out, '--precision', 'q4f16,q4f32']);
    expect(stdout).toMatch(/variants\.json: q4f16, q4f32/);
    const index = parseVariantIndex(JSON.parse(readFileSync(join(out, 'variants.json'), 'utf8')));
    expect(index.variants.map((v) => v.precision)).toEqual(['q4f16', 'q4f32']);
    for (const v of index.variants) expect(parseManifest(JSON.parse(readFileSync(join(out, v.manifest.path), 'utf8'))).precision).toBe(v.precision);
    const bad = (await run('npm', ['run', '--silent', 'export', '--', checkpoint, '--out', join(dir, 'bad'), '--precision', 'q4f16,q8']).catch((e: unknown) => e)) as { code?: number; stderr?: string };
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--precision must be one or more of/);
  });

  it('export fails with a clear message and exit code for a folder that is not a checkpoint', async () => {
    const err = (await run('npm', ['run', '--silent', 'export', '--', join(dir, 'nope'), '--out', join(dir, 'x')]).catch((e: unknown) => e)) as {
      code?: number;
      stderr?: string;
    };
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/config\.json/);
  });
});
