// The one converter with its two sources and two sinks: the CLI's export of a checkpoint over HTTP and the
// in-process conversion into a ModelStore (the browser's path, here on the Node store) give the same bytes; a
// conversion cut by a network failure resumes at a shard boundary or, inside a shard, at the tensor in progress
// (reading again exactly the tensors not finished) and ends byte-identical; an abort or a refused quota leaves
// nothing that looks complete.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, open, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomCheckpoint } from '../../export/random/random-checkpoint';
import { NodeFsStore } from '../loader/node-fs-store';
import { isSarashinaError, type SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, packageFiles, parseManifest } from '../protocol/manifest';
import { startRangeFileServer, type RangeFileServer } from '../testing/range-file-server';
import { convertCheckpoint, readCheckpointHeader } from './convert-checkpoint';
import { planWeights } from './package/weight-plan';
import { SafetensorsCheckpoint } from './safetensors/safetensors-checkpoint';
import { openHttpFolderCheckpoint } from './http-folder-source';
import { DirectorySink } from './node-directory-sink';
import { openDirectoryCheckpoint } from './node-checkpoint-source';
import { isStoredPackageComplete, StoreSink } from './store-sink';

const run = promisify(execFile);
const SHARD = 64 * 1024;
let dir: string;
let server: RangeFileServer;
/** The CLI's package (npm run export of the checkpoint's URL): file path → bytes. */
let cliFiles: Map<string, Uint8Array>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'convert-'));
  await writeRandomCheckpoint(join(dir, 'ckpt'), { preset: 'tiny', seed: 11 });
  server = await startRangeFileServer(dir, 'hf');
  const out = join(dir, 'cli-out');
  await run('npm', ['run', '--silent', 'export', '--', `${server.url}ckpt/`, '--out', out, '--precision', 'q4f16', '--max-shard-mb', String(SHARD / 2 ** 20)]);
  cliFiles = await readDir(out);
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function readDir(path: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const name of (await readdir(path)).sort()) out.set(name, new Uint8Array(await readFile(join(path, name))));
  return out;
}

/** A stored package's files as the manifest lists them, plus manifest.json. */
async function readStored(root: string, modelId: string): Promise<Map<string, Uint8Array>> {
  const manifestBytes = new Uint8Array(await readFile(join(root, modelId, MANIFEST_FILE_NAME)));
  const out = new Map<string, Uint8Array>([[MANIFEST_FILE_NAME, manifestBytes]]);
  for (const f of packageFiles(parseManifest(JSON.parse(new TextDecoder().decode(manifestBytes))))) out.set(f.path, new Uint8Array(await readFile(join(root, modelId, f.path))));
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function digests(files: Map<string, Uint8Array>): Record<string, string> {
  return Object.fromEntries([...files].map(([path, bytes]) => [path, createHash('sha256').update(bytes).digest('hex')]));
}

async function failure(p: Promise<unknown>): Promise<SarashinaError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isSarashinaError(e), String(e)).toBe(true);
  return e as SarashinaError;
}

/** fetch that counts the bytes of successful range responses and, when `failAfter` is set, fails from that range request on. */
function countingFetch(failAfter?: number): { fetchImpl: typeof fetch; ranges: () => number; bytes: () => number } {
  let ranges = 0;
  let bytes = 0;
  const fetchImpl: typeof fetch = async (input, init) => {
    const range = new Headers(init?.headers).get('range');
    if (range) {
      ranges++;
      if (failAfter !== undefined && ranges > failAfter) throw new TypeError('network error: the connection was reset');
    }
    const response = await fetch(input, init);
    if (range) bytes += Number(response.headers.get('content-length') ?? 0);
    return response;
  };
  return { fetchImpl, ranges: () => ranges, bytes: () => bytes };
}

describe('convertCheckpoint', () => {
  it('over HTTP into a ModelStore gives the CLI export of the same URL byte for byte, and marks it complete', async () => {
    const root = join(dir, 'store-a');
    const store = new NodeFsStore(root);
    const result = await convertCheckpoint(openHttpFolderCheckpoint(`${server.url}ckpt/`), new StoreSink(store, 'tiny-q4f16'), { precision: 'q4f16', maxShardBytes: SHARD, resumable: true });
    expect(result.manifest.shards.length).toBeGreaterThan(3);
    expect(await isStoredPackageComplete(store, 'tiny-q4f16')).toBe(true);
    const stored = await readStored(root, 'tiny-q4f16');
    expect([...stored.keys()]).toEqual([...cliFiles.keys()]);
    expect(digests(stored)).toEqual(digests(cliFiles));
    // Nothing but the package and its markers: the journal is gone.
    expect((await readdir(join(root, 'tiny-q4f16'))).filter((f) => !f.endsWith('.verified')).sort()).toEqual([...cliFiles.keys()]);
  });

  it('a connection cut mid-conversion resumes at the shard in progress: byte-identical, fewer bytes read than a whole run', async () => {
    const whole = countingFetch();
    const url = `${server.url}ckpt/`;
    const options = { precision: 'q4f16' as const, maxShardBytes: SHARD, resumable: true, chunkElements: 4096 };
    await convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: whole.fetchImpl }), new StoreSink(new NodeFsStore(join(dir, 'store-b')), 'm'), options);
    const root = join(dir, 'store-c');
    const store = new NodeFsStore(root);
    const cut = countingFetch(Math.floor(whole.ranges() * 0.7));
    const error = await failure(convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: cut.fetchImpl }), new StoreSink(store, 'm'), options));
    expect(error.code).toBe('download-failed');
    expect(error.message).toMatch(/connection was reset/);
    expect(await isStoredPackageComplete(store, 'm')).toBe(false);
    const again = countingFetch();
    const resumed = await convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: again.fetchImpl }), new StoreSink(store, 'm'), options);
    expect(resumed.resumedWeights).toBeGreaterThan(0);
    expect(again.bytes()).toBeLessThan(whole.bytes() * 0.8);
    expect(await isStoredPackageComplete(store, 'm')).toBe(true);
    expect(digests(await readStored(root, 'm'))).toEqual(digests(cliFiles));
  });

  it('a connection cut inside a shard resumes at the tensor in progress: only the unfinished tensors are read again, byte-identical (store with its hash state, store and directory re-hashing)', async () => {
    const url = `${server.url}ckpt/`;
    // One shard for the whole package: resuming at a shard boundary would read everything again.
    const options = { precision: 'q4f16' as const, maxShardBytes: 16 << 20, resumable: true, chunkElements: 4096, journalEveryBytes: 0 };
    const whole = countingFetch();
    const reference = await convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: whole.fetchImpl }), new StoreSink(new NodeFsStore(join(dir, 'tensor-ref')), 'm'), options);
    expect(reference.manifest.shards).toHaveLength(1);
    const expected = digests(await readStored(join(dir, 'tensor-ref'), 'm'));
    // What a run reads besides tensors (the safetensors headers), and each planned weight's checkpoint bytes.
    const headers = countingFetch();
    const checkpoint = await SafetensorsCheckpoint.open(openHttpFolderCheckpoint(url, { fetchImpl: headers.fetchImpl }));
    const plan = planWeights((await readCheckpointHeader(openDirectoryCheckpoint(join(dir, 'ckpt')))).spec, 'q4f16');
    const readFrom = (weight: number): number => headers.bytes() + plan.slice(weight).reduce((n, w) => n + checkpoint.info(w.source).sizeBytes, 0);
    expect(whole.bytes()).toBe(readFrom(0));

    const nodeHash = (): { update(b: Uint8Array): unknown; digestHex(): string } => {
      const h = createHash('sha256');
      return { update: (b) => h.update(b), digestHex: () => h.digest('hex') };
    };
    const sinks = [
      { name: 'store, pure-JS hash state journaled', sink: () => new StoreSink(new NodeFsStore(join(dir, 'tensor-a')), 'm'), files: () => readStored(join(dir, 'tensor-a'), 'm') },
      { name: 'store, node:crypto hash (re-hashed)', sink: () => new StoreSink(new NodeFsStore(join(dir, 'tensor-b')), 'm', { newHash: nodeHash }), files: () => readStored(join(dir, 'tensor-b'), 'm') },
      { name: 'directory', sink: () => new DirectorySink(join(dir, 'tensor-c'), { resumable: true }), files: () => readDir(join(dir, 'tensor-c')), partial: join(dir, 'tensor-c.partial') },
    ];
    for (const [k, variant] of sinks.entries()) {
      let done = 0;
      const cut = countingFetch(Math.floor(whole.ranges() * (0.4 + 0.2 * k)));
      const error = await failure(convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: cut.fetchImpl }), variant.sink(), { ...options, onProgress: (p) => (done = p.tensorsDone) }));
      expect(error.code, variant.name).toBe('download-failed');
      expect(done, variant.name).toBeGreaterThan(0);
      // Bytes past the journaled length (the tensor that failed, or a write the journal never named) are dropped.
      if (variant.partial) await appendFile(join(variant.partial, 'weights-00000.bin'), new Uint8Array(1000).fill(7));
      const again = countingFetch();
      const resumed = await convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: again.fetchImpl }), variant.sink(), options);
      expect(resumed.resumedWeights, variant.name).toBe(done);
      expect(again.bytes(), variant.name).toBe(readFrom(done));
      expect(digests(await variant.files()), variant.name).toEqual(expected);
    }
  });

  it('a journaled shard that lost bytes is not trusted: the conversion starts over and ends byte-identical', async () => {
    const url = `${server.url}ckpt/`;
    const options = { precision: 'q4f16' as const, maxShardBytes: 16 << 20, resumable: true, chunkElements: 4096, journalEveryBytes: 0 };
    const whole = countingFetch();
    await convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: whole.fetchImpl }), new StoreSink(new NodeFsStore(join(dir, 'lost-ref')), 'm'), options);
    const root = join(dir, 'lost');
    const cut = countingFetch(Math.floor(whole.ranges() / 2));
    expect((await failure(convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: cut.fetchImpl }), new StoreSink(new NodeFsStore(root), 'm'), options))).code).toBe('download-failed');
    await truncate(join(root, 'm', 'weights-00000.bin'), 100);
    const again = countingFetch();
    const resumed = await convertCheckpoint(openHttpFolderCheckpoint(url, { fetchImpl: again.fetchImpl }), new StoreSink(new NodeFsStore(root), 'm'), options);
    expect(resumed.resumedWeights).toBe(0);
    expect(again.bytes()).toBe(whole.bytes());
    expect(digests(await readStored(root, 'm'))).toEqual(digests(await readStored(join(dir, 'lost-ref'), 'm')));
  });

  it('a value beyond float16 in a weight stored as float16 is invalid-model naming the tensor and element', async () => {
    const ckpt = join(dir, 'ckpt-overflow');
    await cp(join(dir, 'ckpt'), ckpt, { recursive: true });
    const plan = planWeights((await readCheckpointHeader(openDirectoryCheckpoint(ckpt))).spec, 'q4f16');
    const half = plan.find((w) => w.conversion.kind === 'float' && w.conversion.dtype === 'float16');
    expect(half).toBeDefined();
    const info = (await SafetensorsCheckpoint.open(openDirectoryCheckpoint(ckpt))).info(half!.source);
    // bf16 0x4789 = 70144, over float16's largest finite value (65504), as element 3.
    const file = await open(join(ckpt, info.file), 'r+');
    await file.write(new Uint8Array([0x89, 0x47]), 0, 2, info.byteOffset + 3 * 2);
    await file.close();
    const error = await failure(convertCheckpoint(openDirectoryCheckpoint(ckpt), new DirectorySink(join(dir, 'overflow-out')), { precision: 'q4f16' }));
    expect(error.code).toBe('invalid-model');
    expect(error.message).toContain(`Tensor ${half!.source} has the value 70144 at element 3, beyond float16's range`);
  });

  it('an abort leaves nothing complete-looking (store and directory); a resumable directory keeps its journal', async () => {
    const controller = new AbortController();
    const store = new NodeFsStore(join(dir, 'store-d'));
    let weights = 0;
    const onProgress = (): void => {
      if (++weights === 20) controller.abort();
    };
    const source = openDirectoryCheckpoint(join(dir, 'ckpt'));
    const options = { precision: 'q4f32' as const, maxShardBytes: SHARD, signal: controller.signal, onProgress };
    const e1 = await failure(convertCheckpoint(source, new StoreSink(store, 'm'), { ...options, resumable: true }));
    expect(e1.code).toBe('aborted');
    expect(await isStoredPackageComplete(store, 'm')).toBe(false);
    expect(await store.size('m', MANIFEST_FILE_NAME)).toBe(0);

    weights = 0;
    const controller2 = new AbortController();
    const out = join(dir, 'aborted-pkg');
    const e2 = await failure(
      convertCheckpoint(source, new DirectorySink(out, { resumable: true }), {
        ...options,
        signal: controller2.signal,
        resumable: true,
        onProgress: () => {
          if (++weights === 20) controller2.abort();
        },
      }),
    );
    expect(e2.code).toBe('aborted');
    const left = await readdir(dir);
    expect(left).not.toContain('aborted-pkg');
    expect(await readdir(`${out}.partial`)).toContain('convert-journal.json');
    expect(await readdir(`${out}.partial`)).not.toContain(MANIFEST_FILE_NAME);
  });

  it('verifies what it wrote: a shard the storage changed after writing is integrity-mismatch, and nothing is kept', async () => {
    class LossyDisk extends DirectorySink {
      override async createFile(path: string): ReturnType<DirectorySink['createFile']> {
        const file = await super.createFile(path);
        return {
          ...file,
          finish: async () => {
            const done = await file.finish();
            // The disk flips a byte of the second shard once it is closed.
            if (path === 'weights-00001.bin') {
              const bytes = await readFile(join(this.partial, path));
              bytes[5] = (bytes[5] ?? 0) ^ 0xff;
              await writeFile(join(this.partial, path), bytes);
            }
            return done;
          },
        };
      }
    }
    const out = join(dir, 'lossy');
    const sink = new LossyDisk(out, { resumable: true });
    const error = await failure(convertCheckpoint(openDirectoryCheckpoint(join(dir, 'ckpt')), sink, { precision: 'q4f16', maxShardBytes: SHARD, resumable: true }));
    expect(error.code).toBe('integrity-mismatch');
    expect(error.message).toContain('weights-00001.bin');
    expect(await readdir(dir)).not.toContain('lossy');
    expect(await readdir(dir)).not.toContain('lossy.partial');
  });

  it('refuses before the first byte when the sink has less room than the weight plan needs, with the numbers', async () => {
    class FullDisk extends DirectorySink {
      override availableBytes(): Promise<number | null> {
        return Promise.resolve(100_000);
      }
    }
    const out = join(dir, 'full');
    const error = await failure(convertCheckpoint(openDirectoryCheckpoint(join(dir, 'ckpt')), new FullDisk(out), { precision: 'fp32' }));
    expect(error.code).toBe('storage-quota-exceeded');
    const needed = Number(error.details?.['neededBytes']);
    // The fp32 package's weights alone: the CLI's q4f16 shards are smaller, fp32 stores every weight as float32.
    const cliShardBytes = [...cliFiles].filter(([p]) => p.startsWith('weights-')).reduce((n, [, b]) => n + b.byteLength, 0);
    expect(needed).toBeGreaterThan(cliShardBytes);
    expect(error.details?.['availableBytes']).toBe(100_000);
    expect(error.message).toContain('100 kB');
    // Nothing was written: no package, and the in-progress folder holds no file.
    expect(await readdir(dir)).not.toContain('full');
    expect(await readdir(`${out}.partial-${process.pid}`).catch(() => [])).toEqual([]);
  });
});
