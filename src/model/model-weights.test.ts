import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../../export/package/export-package';
import { readPackageWeight } from '../../export/package/package-reader';
import { readBuffer } from '../gpu/gpu-buffers';
import { NodeDirSource } from '../loader/node-dir-source';
import { type PackageSource, readManifest } from '../loader/package-source';
import type { PackageManifest } from '../protocol/manifest';
import { testGpuContext } from '../testing/node-gpu';
import { ModelWeights } from './model-weights';

const CHECKPOINT = 'export/reference/fixtures/tiny/checkpoint';

describe('ModelWeights', () => {
  let dir: string;
  let manifest: PackageManifest;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weights-'));
    // Small shards: the embedding table spans several of them.
    await exportPackage(CHECKPOINT, join(dir, 'pkg'), { precision: 'q4f32', maxShardBytes: 100_000 });
    manifest = await readManifest(new NodeDirSource(join(dir, 'pkg')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams every shard into one GPU buffer per weight, byte-exact, including weights split over shards', async () => {
    const ctx = await testGpuContext();
    expect(manifest.shards.length).toBeGreaterThan(3);
    expect(Object.values(manifest.weights).some((w) => w.parts.length > 1)).toBe(true);
    const progress: number[] = [];
    const weights = await ModelWeights.upload(ctx, manifest, new NodeDirSource(join(dir, 'pkg')), { onProgress: (p) => progress.push(p.loadedBytes) });
    try {
      expect(weights.count).toBe(Object.keys(manifest.weights).length);
      expect(progress[progress.length - 1]).toBe(weights.totalBytes);
      for (const name of Object.keys(manifest.weights)) {
        const want = await readPackageWeight(join(dir, 'pkg'), manifest, name);
        const got = new Uint8Array(await readBuffer(ctx.device, weights.get(name).buffer, Math.ceil(want.byteLength / 4) * 4)).subarray(0, want.byteLength);
        expect(Buffer.from(got).equals(Buffer.from(want)), name).toBe(true);
      }
    } finally {
      weights.dispose();
    }
  });

  it('a truncated shard fails with integrity-mismatch and frees what it allocated', async () => {
    const ctx = await testGpuContext();
    const source = new NodeDirSource(join(dir, 'pkg'));
    const short: PackageSource = {
      id: source.id,
      readBytes: (p) => source.readBytes(p),
      stream: async (p) => {
        const bytes = await source.readBytes(p);
        return new Blob([bytes.slice(0, bytes.byteLength - 100)]).stream();
      },
    };
    await expect(ModelWeights.upload(ctx, manifest, short)).rejects.toMatchObject({ code: 'integrity-mismatch' });
  });
});
