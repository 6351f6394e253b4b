/**
 * exportVariants on the tiny fixture checkpoint: one package per precision and variants.json, whose every number is
 * checked against the files on disk (sizes by stat, sha256 by node:crypto) and each variant's manifest; then the
 * index's validation (parseVariantIndex) and the index ↔ manifest cross-check on damaged copies.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSarashinaError } from '../../src/protocol/errors';
import { type PackageManifest, packageFiles, parseManifest } from '../../src/protocol/manifest';
import { checkVariantManifest, parseVariantIndex, type VariantIndex } from '../../src/protocol/variant-index';
import { exportVariants } from './export-variants';

const CHECKPOINT = 'export/reference/fixtures/tiny/checkpoint';

let root = '';
let out = '';
let indexJson: Record<string, unknown>;
let index: VariantIndex;
const manifests: Record<string, PackageManifest> = {};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'export-variants-'));
  out = join(root, 'model');
  const result = await exportVariants(CHECKPOINT, out, { precisions: ['q4f16', 'q4f32'] });
  expect(result.outDir).toBe(out);
  indexJson = JSON.parse(await readFile(join(out, 'variants.json'), 'utf8')) as Record<string, unknown>;
  index = parseVariantIndex(indexJson);
  for (const p of ['q4f16', 'q4f32']) manifests[p] = parseManifest(JSON.parse(await readFile(join(out, p, 'manifest.json'), 'utf8')));
}, 120_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function invalidField(json: unknown): string {
  try {
    parseVariantIndex(json);
  } catch (e) {
    if (isSarashinaError(e, 'invalid-model')) return String(e.details.field);
    throw e;
  }
  return 'no error';
}

describe('exportVariants', () => {
  it('writes one complete package per precision and variants.json, nothing else', async () => {
    expect((await readdir(out)).sort()).toEqual(['q4f16', 'q4f32', 'variants.json']);
    expect((await readdir(root)).sort()).toEqual(['model']);
    expect(index.variants.map((v) => [v.precision, v.path])).toEqual([
      ['q4f16', 'q4f16'],
      ['q4f32', 'q4f32'],
    ]);
    expect(manifests.q4f16?.precision).toBe('q4f16');
    expect(manifests.q4f32?.precision).toBe('q4f32');
  });

  it('each entry says what is on disk: download bytes, the manifest\'s size and sha256, weight bytes, the largest weight, f16', async () => {
    for (const v of index.variants) {
      const m = manifests[v.precision]!;
      let onDisk = 0;
      for (const f of packageFiles(m)) onDisk += (await stat(join(out, v.path, f.path))).size;
      expect(v.downloadBytes).toBe(onDisk);
      const manifestBytes = await readFile(join(out, v.manifest.path));
      expect(v.manifest.sizeBytes).toBe(manifestBytes.byteLength);
      expect(v.manifest.sha256).toBe(createHash('sha256').update(manifestBytes).digest('hex'));
      const weights = Object.entries(m.weights);
      expect(v.weightBytes).toBe(weights.reduce((n, [, w]) => n + w.sizeBytes, 0));
      const largest = Math.max(...weights.map(([, w]) => w.sizeBytes));
      expect(v.largestWeight.sizeBytes).toBe(largest);
      expect(m.weights[v.largestWeight.name]?.sizeBytes).toBe(largest);
      // DESIGN.md §6: q4f16 computes in f16 (needs shader-f16), q4f32 in f32.
      expect(v.needsShaderF16).toBe(v.precision === 'q4f16');
      expect(index.model).toEqual(m.model);
      expect(index.imageProcessor).toEqual(m.imageProcessor);
      expect(() => checkVariantManifest(index, v, m)).not.toThrow();
    }
  });

  it('a manifest that is not the entry\'s: invalid-model naming the field', () => {
    const q4f16 = index.variants.find((v) => v.precision === 'q4f16')!;
    expect(() => checkVariantManifest(index, q4f16, manifests.q4f32!)).toThrow(expect.objectContaining({ code: 'invalid-model', details: expect.objectContaining({ field: 'precision' }) }));
    const resized = { ...q4f16, weightBytes: q4f16.weightBytes + 1 };
    expect(() => checkVariantManifest(index, resized, manifests.q4f16!)).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'weightBytes' }) }));
  });

  it('refuses an existing folder without overwrite, a repeated precision, and no precision (invalid-request)', async () => {
    await expect(exportVariants(CHECKPOINT, out, { precisions: ['q4f32', 'fp32'] })).rejects.toMatchObject({ code: 'invalid-request' });
    await expect(exportVariants(CHECKPOINT, join(root, 'x'), { precisions: ['q4f32', 'q4f32'] })).rejects.toMatchObject({ code: 'invalid-request' });
    await expect(exportVariants(CHECKPOINT, join(root, 'x'), { precisions: [] })).rejects.toMatchObject({ code: 'invalid-request' });
    expect((await readdir(root)).sort()).toEqual(['model']);
  });
});

describe('parseVariantIndex', () => {
  const variant = (i: number): Record<string, unknown> => (indexJson.variants as Record<string, unknown>[])[i]!;
  const withVariant = (i: number, patch: Record<string, unknown>): unknown => ({
    ...indexJson,
    variants: (indexJson.variants as unknown[]).map((v, j) => (j === i ? { ...variant(i), ...patch } : v)),
  });

  it('names the field of every inconsistency', () => {
    expect(invalidField({ ...indexJson, formatVersion: 2 })).toBe('formatVersion');
    expect(invalidField({ ...indexJson, variants: [] })).toBe('variants');
    expect(invalidField(withVariant(0, { needsShaderF16: false }))).toBe('variants[0].needsShaderF16');
    expect(invalidField(withVariant(1, { precision: 'q4f16', needsShaderF16: true, path: 'other', manifest: { ...(variant(1).manifest as object), path: 'other/manifest.json' } }))).toBe('variants[1].precision');
    expect(invalidField(withVariant(0, { path: '../q4f16' }))).toBe('variants[0].path');
    expect(invalidField(withVariant(0, { manifest: { ...(variant(0).manifest as object), path: 'q4f32/manifest.json' } }))).toBe('variants[0].manifest.path');
    expect(invalidField(withVariant(0, { largestWeight: { name: 'w', sizeBytes: (variant(0).weightBytes as number) + 1 } }))).toBe('variants[0].largestWeight.sizeBytes');
    expect(invalidField({ ...indexJson, model: { ...(indexJson.model as object), text: {} } })).toMatch(/^model\.text\./);
  });

  it('its errors name variants.json', () => {
    expect(() => parseVariantIndex({ ...indexJson, formatVersion: 2 })).toThrow(/^variants\.json: formatVersion/);
  });
});
