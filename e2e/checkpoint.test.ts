// The original checkpoint straight from a Hub (issue 17), in Chromium: the trained default model's checkpoint served in
// the Hub's layout (three safetensors shards and their index, resolve/<sha>/ paths, the CDN redirect, Range, ETag,
// CORS: src/testing/hub-server.ts), and createEngine({ model: '<org>/<name>' }) in a worker converts it into OPFS
// while downloading. A connection cut mid-conversion fails typed; the retry resumes at the tensor in progress (the bytes
// served are those of the tensors not finished; OPFS on the page keeps a flushed partial shard and continues it); the package in OPFS is byte-identical to the exporter's (`npm run export`'s
// function) for the same Hub revision and variant; a truncated shard, a wrong revision and a repository that is not
// Sarashina2-Vision are typed errors; with the server gone, a reload loads the converted package from OPFS and the model
// answers a question about a fresh picture right. The conversions run createEngine's opening step on the page (the
// browser platform with the engine's own chooser, src/api/create-engine.ts packagePlanner); the one model load is the
// real createEngine in a worker, offline: one engine load on SwiftShader instead of three.
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../export/package/export-package';
import { accuracyCases } from '../export/train/accuracy-cases';
import { openDirectoryCheckpoint } from '../src/convert/node-checkpoint-source';
import { SafetensorsCheckpoint } from '../src/convert/safetensors/safetensors-checkpoint';
import { WEIGHTS } from '../src/protocol/weight-names';
import { type HubServer, startHubServer } from '../src/testing/hub-server';
import { reshardCheckpoint } from '../src/testing/reshard-checkpoint';
import { type E2eSession, REPO_ROOT, startE2e } from './harness';
import type { CheckpointConvertResult } from './pages/checkpoint';

const OUTPUT = join(REPO_ROOT, 'e2e/output/checkpoint');
const REPO = 'sbintuitions/shapes-e2e';
const SHA = createHash('sha1').update('e2e checkpoint commit').digest('hex');
const TRUNCATED_SHA = createHash('sha1').update('e2e truncated commit').digest('hex');
const OTHER_SHA = createHash('sha1').update('e2e other model').digest('hex');
/** Small shards, so the trained model's package has several and a resume point before the embedding table. */
const SHARD_BYTES = 2 * 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('an original checkpoint from a Hub, converted in Chromium', () => {
  let session: E2eSession;
  let hub: HubServer;
  let page: Page;
  let errors: string[];
  let shards: string[];
  let embedShard: string;
  let checkpointBytes: number;
  /** The safetensors headers (8-byte length and JSON) of every checkpoint file. */
  let headerBytes: number;

  beforeAll(async () => {
    await rm(OUTPUT, { recursive: true, force: true });
    await mkdir(OUTPUT, { recursive: true });
    shards = await reshardCheckpoint(join(REPO_ROOT, 'export/train/checkpoint'), join(OUTPUT, 'hub'), 3);
    const local = await SafetensorsCheckpoint.open(openDirectoryCheckpoint(join(OUTPUT, 'hub')));
    embedShard = local.info(WEIGHTS.embedTokens).file;
    checkpointBytes = 0;
    headerBytes = 0;
    for (const s of shards) {
      checkpointBytes += (await stat(join(OUTPUT, 'hub', s))).size;
      headerBytes += 8 + Number(Buffer.from(await readFile(join(OUTPUT, 'hub', s))).readBigUInt64LE(0));
    }
    // A repository that is something else: the same files, another model_type.
    await cp(join(OUTPUT, 'hub'), join(OUTPUT, 'other'), { recursive: true });
    const config = JSON.parse(await readFile(join(OUTPUT, 'other', 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(OUTPUT, 'other', 'config.json'), JSON.stringify({ ...config, model_type: 'llava' }));
    hub = await startHubServer({
      repos: {
        [REPO]: { commits: { [SHA]: join(OUTPUT, 'hub'), [TRUNCATED_SHA]: join(OUTPUT, 'hub') }, refs: { main: SHA, truncated: TRUNCATED_SHA } },
        'someone/not-sarashina': { commits: { [OTHER_SHA]: join(OUTPUT, 'other') }, refs: { main: OTHER_SHA } },
      },
    });
    session = await startE2e();
    ({ page, errors } = await session.open('/e2e/pages/checkpoint.html'));
    await page.waitForFunction(() => typeof window.ckptLoad === 'function');
  });
  afterAll(async () => {
    await session?.close();
    await hub?.close();
  });

  /** createEngine's opening of the model (variant choice, conversion into OPFS) on the page, without loading the model. */
  const load = (options: { model: string; revision?: string }): Promise<CheckpointConvertResult> =>
    page.evaluate((o) => window.ckptConvert(o), { ...options, hubEndpoint: hub.url, checkpointShardBytes: SHARD_BYTES, contextTokens: 512 });
  const served = (): number => shards.reduce((n, s) => n + hub.bytesServed(s), 0);

  it('OPFS on the page: a partly written shard is made durable, cut back to its checkpoint and continued with its hash state', async () => {
    const parts = { a: 3 << 20, b: 100_000, c: 300_000 };
    const fill = (n: number, k: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * k + 5) & 0xff);
    const expected = sha256(Buffer.concat([fill(parts.a, 31), fill(parts.c, 17)]));
    const got = await page.evaluate((p) => window.ckptOpfsResume(p), parts);
    // Durable without closing (a sync access handle in a worker), with the pure-JS SHA-256's state.
    expect(got.state).toMatchObject({ sizeBytes: parts.a, hashState: expect.any(String) });
    // The bytes after the checkpoint were dropped; the restored hash agrees with WebCrypto's over what OPFS holds.
    expect(got.storedBytes).toBe(parts.a + parts.c);
    expect(got.storedSha256).toBe(expected);
    expect(got.finished).toEqual({ sizeBytes: parts.a + parts.c, sha256: expected });
  });

  it('a cut connection fails typed; the retry resumes at the tensor in progress and converts into OPFS, byte-identical to the exporter', async () => {
    // Every response for the embedding table's shard longer than 600 kB is cut (only the table is): the tensors
    // before it (several 2 MiB shards of the package) are written when the conversion fails.
    hub.cutConnection(embedShard, 600_000, { times: Infinity });
    const cut = await load({ model: REPO });
    expect(cut.error?.code, JSON.stringify(cut)).toBe('download-failed');
    expect(cut.phases).toContain('convert');
    hub.clearFaults();
    hub.resetCounts();
    const done = await load({ model: REPO });
    expect(done.error, JSON.stringify(done.error)).toBeUndefined();
    expect(done.phases).toContain('convert');
    expect(done.lastConvert).toMatchObject({ filesDone: done.lastConvert?.filesTotal });
    // Resumed at the tensor (the cut one, the embedding table, is in the middle of a shard): what was converted
    // before the cut is not downloaded again, but for the safetensors headers and the tensors written since the
    // last journal (≤ 1 MiB of output: ≤ 4 MiB of bf16 input at 4 bits a weight).
    const left = cut.lastConvert!.totalBytes - cut.lastConvert!.loadedBytes;
    expect(served()).toBeGreaterThanOrEqual(left);
    expect(served()).toBeLessThanOrEqual(left + headerBytes + 4 * 2 ** 20);
    expect(served()).toBeLessThan(checkpointBytes * 0.85);
    const info = done.opened!;
    expect(info.precisionReason).toMatch(/converted from the original checkpoint/);

    const out = join(OUTPUT, `export-${info.precision}`);
    const exported = await exportPackage(REPO, out, { precision: info.precision as 'q4f32' | 'q4f16', hubEndpoint: hub.url, maxShardBytes: SHARD_BYTES });
    expect(exported.manifest.shards.length).toBeGreaterThan(3);
    const expected: Record<string, string> = {};
    for (const name of await readdir(out)) expected[name] = sha256(await readFile(join(out, name)));
    expect(await page.evaluate((id) => window.ckptStoredDigests(id), info.modelId)).toEqual(expected);
  });

  it('a truncated shard, a wrong revision and a repository that is not Sarashina2-Vision are typed errors', async () => {
    hub.truncate(shards[2]!, 1000);
    const truncated = await load({ model: REPO, revision: 'truncated' });
    hub.clearFaults();
    expect(truncated.error?.code, JSON.stringify(truncated)).toMatch(/integrity-mismatch|invalid-model/);
    const revision = await load({ model: REPO, revision: 'no-such-branch' });
    expect(revision.error, JSON.stringify(revision)).toMatchObject({ isSarashinaError: true, code: 'invalid-request' });
    expect(revision.error?.message).toMatch(/no-such-branch/);
    const other = await load({ model: 'someone/not-sarashina' });
    expect(other.error, JSON.stringify(other)).toMatchObject({ isSarashinaError: true, code: 'invalid-model' });
    expect(other.error?.message).toMatch(/model_type/);
    // None of them left a package that looks complete.
    const cached = await page.evaluate(() => window.ckptCached());
    expect(cached.filter((id) => id.includes(TRUNCATED_SHA) || id.includes(OTHER_SHA))).toEqual([]);
  });

  it('with the server gone, a reload loads the converted package from OPFS (createEngine in a worker), which answers a question about a fresh picture right', async () => {
    await hub.close();
    await page.reload();
    await page.waitForFunction(() => typeof window.ckptLoad === 'function');
    const offline = await page.evaluate((o) => window.ckptLoad(o), { model: REPO, hubEndpoint: hub.url, contextTokens: 512 });
    expect(offline.error, JSON.stringify(offline.error)).toBeUndefined();
    expect(offline.phases).not.toContain('convert');
    expect(offline.info?.modelId).toContain(SHA);
    const [c] = accuracyCases({ pictures: 1, turnsPerPicture: 1, maxPicturePixels: 130 * 130, firstIndex: 7 });
    const qa = c!.turns[0]!;
    const answer = await page.evaluate(([png, q]) => window.ckptAsk(png, q), [`data:image/png;base64,${Buffer.from(c!.png).toString('base64')}`, qa.question] as const);
    expect(answer.trim()).toBe(qa.answer);
    await page.evaluate(() => window.ckptDispose());
    // deleteCachedModel with the same model string removes the converted package.
    expect(await page.evaluate((m) => window.ckptDelete(m), REPO)).not.toContain(offline.info?.modelId);
    // Failed loads above log network errors for the cut, missing and refused files: those are the test's own.
    expect(errors.filter((e) => !/http (40\d|416)|ERR_|network|Failed to fetch/i.test(e))).toEqual([]);
  });
});
