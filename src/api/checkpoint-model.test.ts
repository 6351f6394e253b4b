// createEngine's platform with an original checkpoint, up to the package the model loader gets (no GPU needed): the
// variant chosen from the checkpoint's estimated variants for the adapter (shader-f16 → q4f16, else q4f32), the
// conversion into the cache, the cached package reopened without converting, and offline (server gone) through the
// model string's reference; a repository that is not Sarashina2-Vision is a typed error.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomCheckpoint } from '../../export/random/random-checkpoint';
import { exportPackage } from '../../export/package/export-package';
import type { GpuCapabilities } from '../gpu/gpu-context';
import type { PackageChooser } from '../loader/open-model';
import type { PackagePlan } from '../model/package-plan';
import { packagePlanner } from './create-engine';
import type { EngineOptions, LoadProgress } from '../protocol/api';
import { MANIFEST_FILE_NAME, packageFiles } from '../protocol/manifest';
import { startRangeFileServer } from '../testing/range-file-server';
import { NodeFsStore } from '../loader/node-fs-store';
import { deleteConvertedModel } from './checkpoint-model';
import { nodePlatform } from './node-platform';

const caps = (shaderF16: boolean): GpuCapabilities => ({
  vendor: 'test',
  architecture: '',
  description: '',
  isFallbackAdapter: false,
  shaderF16,
  subgroups: true,
  subgroupMinSize: 32,
  subgroupMaxSize: 32,
  subgroupMatrix: false,
  subgroupMatrixConfigs: [],
  timestampQuery: false,
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 30,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
});

/** The chooser createEngine passes (variant choice and plan), on fixed capabilities. */
function chooser(c: GpuCapabilities, options: EngineOptions = { model: '' }): PackageChooser & { plan: () => PackagePlan | undefined } {
  const planner = packagePlanner(c, options);
  return { ...planner.chooser, plan: () => planner.plan() };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'checkpoint-model-'));
  await writeRandomCheckpoint(join(dir, 'ckpt'), { preset: 'tiny', seed: 4 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('an original checkpoint as the model', () => {
  it('a local checkpoint folder: the variant for the adapter, converted once into the cache, the CLI export of it byte for byte', async () => {
    const cacheDir = join(dir, 'cache-local');
    const platform = nodePlatform({ cacheDir });
    for (const [f16, precision] of [
      [true, 'q4f16'],
      [false, 'q4f32'],
    ] as const) {
      const progress: LoadProgress[] = [];
      const options: EngineOptions = { model: join(dir, 'ckpt'), onProgress: (p) => progress.push(p) };
      const c = chooser(caps(f16));
      const opened = await platform.openSource(options, c);
      expect(c.plan()?.precisionReason).toMatch(/converted from the original checkpoint/);
      expect(opened.manifest.precision).toBe(precision);
      expect(c.plan()?.precision).toBe(precision);
      expect(progress.at(-1)).toMatchObject({ phase: 'convert', filesDone: progress.at(-1)?.filesTotal });
      expect(progress.at(-1)?.loadedBytes).toBe(progress.at(-1)?.totalBytes);
      // The same bytes as `npm run export` of the folder at that precision.
      const out = join(dir, `cli-${precision}`);
      const exported = await exportPackage(join(dir, 'ckpt'), out, { precision });
      for (const f of [...packageFiles(exported.manifest), { path: MANIFEST_FILE_NAME }]) {
        expect(Buffer.from(await opened.source.readBytes(f.path)).equals(await readFile(join(out, f.path))), f.path).toBe(true);
      }
      // Again: the cached package, no conversion.
      const again: LoadProgress[] = [];
      const reopened = await platform.openSource({ ...options, onProgress: (p) => again.push(p) }, chooser(caps(f16)));
      expect(again).toEqual([]);
      expect(reopened.source.id).toBe(opened.source.id);
    }
  });

  it('an http(s) folder without manifest.json: converted, then opened offline once its server is gone', async () => {
    const server = await startRangeFileServer(dir, 'hf');
    const cacheDir = join(dir, 'cache-http');
    const options: EngineOptions = { model: `${server.url}ckpt/` };
    let first;
    try {
      first = await nodePlatform({ cacheDir }).openSource(options, chooser(caps(false)));
      expect(first.manifest.precision).toBe('q4f32');
      expect(server.rangeRequests).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
    const offline = chooser(caps(false));
    const second = await nodePlatform({ cacheDir }).openSource(options, offline);
    expect(second.source.id).toBe(first.source.id);
    expect(offline.plan()?.precision).toBe('q4f32');
    const shard = first.manifest.shards[0]?.path ?? '';
    expect(Buffer.from(await second.source.readBytes(shard)).equals(await first.source.readBytes(shard))).toBe(true);
    // Deleting by the model string removes the converted package and its reference.
    const store = new NodeFsStore(cacheDir);
    expect((await store.list()).map((m) => m.modelId)).toContain(first.source.id);
    expect(await deleteConvertedModel(store, options.model)).toBe(true);
    expect((await store.list()).map((m) => m.modelId)).not.toContain(first.source.id);
    expect(await deleteConvertedModel(store, options.model)).toBe(false);
  });

  it('a repository that is not Sarashina2-Vision is an invalid-model error naming config.json', async () => {
    const other = join(dir, 'other');
    await cp(join(dir, 'ckpt'), other, { recursive: true });
    const config = JSON.parse(await readFile(join(other, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(other, 'config.json'), JSON.stringify({ ...config, model_type: 'llava' }));
    await expect(nodePlatform({ cacheDir: join(dir, 'cache-other') }).openSource({ model: other }, chooser(caps(true)))).rejects.toMatchObject({
      code: 'invalid-model',
      message: expect.stringMatching(/model_type|Sarashina/),
    });
  });
});
