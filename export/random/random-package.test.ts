/**
 * writeRandomPackage on the tiny preset: the same manifest (graphs, weight table, tokenizer files)
 * as exporting the random checkpoint of that preset and precision, valid shard hashes, int4 weights
 * with the checkpoint init's std, deterministic from the seed, and a package the real engine runs.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../src/api/node-platform';
import type { ChatCompletion } from '../../src/protocol/api';
import { MANIFEST_FILE_NAME, type PackageManifest, parseManifest } from '../../src/protocol/manifest';
import { scalesName, WEIGHTS } from '../../src/protocol/weight-names';
import { exportPackage } from '../package/export-package';
import { readPackageManifest, readPackageWeight } from '../package/package-reader';
import { writeRandomCheckpoint } from './random-checkpoint';
import { writeRandomPackage } from './random-package';
import { initFor } from './random-weights';

const PRECISIONS = ['q4f32', 'fp32'] as const;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'random-package-'));
  await writeRandomCheckpoint(join(dir, 'checkpoint'), { preset: 'tiny', seed: 1 });
  for (const precision of PRECISIONS) {
    await exportPackage(join(dir, 'checkpoint'), join(dir, `exported-${precision}`), { precision, maxShardBytes: 512 * 1024 });
    await writeRandomPackage(join(dir, `random-${precision}`), { preset: 'tiny', precision, seed: 1, maxShardBytes: 512 * 1024 });
  }
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The manifest without what depends on weight values: shard hashes and the source. */
function layoutOf(m: PackageManifest): unknown {
  return { ...m, shards: m.shards.map((s) => ({ path: s.path, sizeBytes: s.sizeBytes })), exporter: { ...m.exporter, source: '' } };
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe.each(PRECISIONS)('%s', (precision) => {
  it('has the manifest of the exported random checkpoint except weight values, and valid shard hashes', async () => {
    const random = join(dir, `random-${precision}`);
    const manifest = parseManifest(JSON.parse(await readFile(join(random, MANIFEST_FILE_NAME), 'utf8')));
    const exported = await readPackageManifest(join(dir, `exported-${precision}`));
    expect(manifest.shards.length).toBeGreaterThan(1);
    // Graphs, tokenizer files, the weight table with its shard ranges: everything but the values.
    expect(layoutOf(manifest)).toEqual(layoutOf(exported));
    for (const file of [...manifest.graphs, manifest.tokenizer.tokenizer, manifest.tokenizer.tokenizerConfig]) {
      expect(await readFile(join(random, file.path))).toEqual(await readFile(join(dir, `exported-${precision}`, file.path)));
    }
    for (const shard of manifest.shards) expect(await sha256(join(random, shard.path)), shard.path).toBe(shard.sha256);
    expect(manifest.exporter.source).toBe('random:tiny:seed=1');
  });

  it('float weights are the checkpoint’s values; int4 weights are fresh codes', async () => {
    const random = join(dir, `random-${precision}`);
    const exportedDir = join(dir, `exported-${precision}`);
    const manifest = await readPackageManifest(random);
    let int4 = 0;
    for (const [name, entry] of Object.entries(manifest.weights)) {
      const ours = await readPackageWeight(random, manifest, name);
      const theirs = await readPackageWeight(exportedDir, await readPackageManifest(exportedDir), name);
      if (entry.layout === 'row-major') expect(Buffer.from(ours).equals(Buffer.from(theirs)), name).toBe(true);
      else {
        int4++;
        expect(Buffer.from(ours).equals(Buffer.from(theirs)), name).toBe(false);
      }
    }
    expect(int4).toBe(precision === 'fp32' ? 0 : 2 * (7 * 2 + 1));
  });
});

describe('values and determinism', () => {
  it('dequantized int4 weights have mean ≈ 0 and the checkpoint init’s std', async () => {
    const random = join(dir, 'random-q4f32');
    const manifest = await readPackageManifest(random);
    for (const name of [WEIGHTS.lmHead, WEIGHTS.decoderLayer(0).down]) {
      const packed = await readPackageWeight(random, manifest, name);
      const scaleBytes = await readPackageWeight(random, manifest, scalesName(name));
      const scales = new Float32Array(scaleBytes.buffer, scaleBytes.byteOffset, scaleBytes.byteLength / 4);
      const [rows = 0, cols = 0] = manifest.weights[name]?.shape ?? [];
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < packed.length; i++) {
        const s = scales[Math.floor(i / 16)] ?? 0;
        const byte = packed[i] ?? 0;
        for (const nibble of [byte & 15, byte >> 4]) {
          const w = (nibble - 8) * s;
          sum += w;
          sumSq += w * w;
        }
      }
      const n = packed.length * 2;
      const std = Math.sqrt(sumSq / n - (sum / n) ** 2);
      const want = initFor(manifest.model, name, [rows, cols * 32]).std;
      expect(Math.abs(sum / n), name).toBeLessThan(0.05 * want);
      expect(std / want, name).toBeGreaterThan(0.95);
      expect(std / want, name).toBeLessThan(1.05);
    }
  });

  it('the same seed gives identical bytes, another seed different ones', async () => {
    const again = join(dir, 'again');
    const other = join(dir, 'other');
    await writeRandomPackage(again, { preset: 'tiny', precision: 'q4f32', seed: 1, maxShardBytes: 512 * 1024 });
    await writeRandomPackage(other, { preset: 'tiny', precision: 'q4f32', seed: 2, maxShardBytes: 512 * 1024 });
    const first = await readFile(join(dir, 'random-q4f32', MANIFEST_FILE_NAME), 'utf8');
    expect(await readFile(join(again, MANIFEST_FILE_NAME), 'utf8')).toBe(first);
    const otherManifest = await readPackageManifest(other);
    const firstManifest = parseManifest(JSON.parse(first));
    firstManifest.shards.forEach((s, i) => expect(otherManifest.shards[i]?.sha256, s.path).not.toBe(s.sha256));
  });

  it('sets max_pixels, and rejects a bad preset, max_pixels or an existing directory', async () => {
    const out = join(dir, 'pixels');
    const result = await writeRandomPackage(out, { preset: 'tiny', precision: 'q4f16', seed: 3, maxPixels: 1344 * 1792 });
    expect(result.manifest.imageProcessor.maxPixels).toBe(1344 * 1792);
    await expect(writeRandomPackage(out, { preset: 'tiny', precision: 'q4f16', seed: 3 })).rejects.toMatchObject({ code: 'invalid-request' });
    await expect(writeRandomPackage(join(dir, 'x'), { preset: 'huge' as 'tiny', precision: 'q4f32', seed: 1 })).rejects.toThrow(/Unknown preset "huge"/);
    await expect(writeRandomPackage(join(dir, 'x'), { preset: 'tiny', precision: 'q4f32', seed: 1, maxPixels: 100 })).rejects.toThrow(/maxPixels 100/);
  });
});

describe('in the engine', () => {
  it('q4f32: a chat completion with an image gives tokens, and the first logits are finite', async () => {
    const engine = await createNodeEngine({ model: join(dir, 'random-q4f32'), contextTokens: 256 });
    try {
      const png = await readFile('export/reference/fixtures/tiny/images/gradient-disc-90x60.png');
      let firstLogits: Float32Array = new Float32Array(0);
      const completion = (await engine.create(
        { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: new Blob([new Uint8Array(png)], { type: 'image/png' }) } }, { type: 'text', text: 'これは何?' }] }], max_tokens: 3 },
        { onFirstLogits: (l) => (firstLogits = l) },
      )) as ChatCompletion;
      expect(completion.usage.completion_tokens).toBeGreaterThan(0);
      expect(firstLogits.length).toBe(2048);
      expect(firstLogits.every(Number.isFinite)).toBe(true);
      // Not all equal: the weights reach the output.
      expect(Math.max(...firstLogits) - Math.min(...firstLogits)).toBeGreaterThan(1);
    } finally {
      await engine.dispose();
    }
  }, 120_000);
});
