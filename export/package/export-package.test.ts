import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSarashinaError, type SarashinaError } from '../../src/protocol/errors';
import { packageFiles, parseManifest } from '../../src/protocol/manifest';
import { scalesName, WEIGHTS } from '../../src/protocol/weight-names';
import { SafetensorsCheckpoint } from '../../src/convert/safetensors/safetensors-checkpoint';
import { writeRandomCheckpoint } from '../random/random-checkpoint';
import { startRangeFileServer } from '../../src/testing/range-file-server';
import { fromFloat16Array } from '../../src/convert/quantize/float16';
import { dequantizeInt4Block32, scaleValues } from '../../src/convert/quantize/int4-block-quantizer';
import { exportPackage } from './export-package';
import { readPackageManifest, readPackageWeight } from './package-reader';
import { fileWriteError } from '../../src/convert/package/write-error';
import { openCheckpointLocation } from '../../src/convert/node-checkpoint-source';

let dir: string;
let ckpt: string;
const SHARD = 64 * 1024;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'export-package-'));
  ckpt = join(dir, 'ckpt');
  await writeRandomCheckpoint(ckpt, { preset: 'tiny', seed: 5 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectFailure(run: () => Promise<unknown>, code: string, pattern: RegExp | string): Promise<SarashinaError> {
  try {
    await run();
  } catch (e) {
    expect(isSarashinaError(e), String(e)).toBe(true);
    const err = e as SarashinaError;
    expect(err.code).toBe(code);
    expect(err.message).toMatch(pattern);
    return err;
  }
  throw new Error('expected a failure');
}

/** Nothing that looks like a package (or a leftover partial) may remain under `parent` for `name`. */
async function expectNothingLeft(parent: string, name: string): Promise<void> {
  const entries = await readdir(parent);
  expect(entries.filter((e) => e === name || e.startsWith(`${name}.partial-`))).toEqual([]);
}

async function copyCheckpoint(to: string, edit?: (config: Record<string, unknown>) => void): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await writeRandomCheckpoint(to, { preset: 'tiny', seed: 5 });
  if (edit) {
    const config = JSON.parse(await readFile(join(to, 'config.json'), 'utf8')) as Record<string, unknown>;
    edit(config);
    await writeFile(join(to, 'config.json'), JSON.stringify(config));
  }
}

describe('exportPackage on the tiny random checkpoint', () => {
  it.each(['fp32', 'q4f32', 'q4f16'] as const)('%s: files hashed, shards bounded, weights equal to the checkpoint', async (precision) => {
    const out = join(dir, `pkg-${precision}`);
    const progress: number[] = [];
    const result = await exportPackage(ckpt, out, { precision, maxShardBytes: SHARD, onProgress: (p) => progress.push(p.doneBytes / p.totalBytes) });
    expect(progress.at(-1)).toBe(1);
    const manifest = await readPackageManifest(out);
    expect(manifest.precision).toBe(precision);
    expect(manifest.model).toEqual(result.manifest.model);
    // Every listed file exists with its size and sha256; nothing unlisted but the manifest.
    const listed = packageFiles(manifest);
    for (const f of listed) {
      const bytes = await readFile(join(out, f.path));
      expect(bytes.length, f.path).toBe(f.sizeBytes);
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
    }
    expect((await readdir(out)).sort()).toEqual([...listed.map((f) => f.path), 'manifest.json'].sort());
    for (const s of manifest.shards) expect(s.sizeBytes).toBeLessThanOrEqual(SHARD);
    expect((await readdir(dir)).filter((e) => e.includes('.partial-'))).toEqual([]);

    const source = await SafetensorsCheckpoint.open(openCheckpointLocation(ckpt));
    // The largest weight (the embedding table, 2048 × 64) spans several shards in fp32.
    if (precision === 'fp32') expect(manifest.weights[WEIGHTS.embedTokens]!.parts.length).toBeGreaterThan(1);
    for (const name of [WEIGHTS.embedTokens, WEIGHTS.patchEmbed, WEIGHTS.visionBlock(1).qkv.bias, WEIGHTS.decoderLayer(1).down, WEIGHTS.lmHead]) {
      const expected = (await source.readFloat32(name)).data;
      const entry = manifest.weights[name]!;
      const bytes = await readPackageWeight(out, manifest, name);
      if (entry.layout === 'matmulnbits-q4-b32') {
        const scalesEntry = manifest.weights[scalesName(name)]!;
        const scalesBytes = await readPackageWeight(out, manifest, scalesName(name));
        const [rows, blocks] = scalesEntry.shape as [number, number];
        const scales = scalesEntry.dtype === 'float32' ? new Float32Array(scalesBytes.buffer) : new Uint16Array(scalesBytes.buffer);
        const q = { packed: bytes, scales, scaleType: scalesEntry.dtype as 'float32' | 'float16', rows, cols: blocks * 32 };
        const deq = dequantizeInt4Block32(q);
        const s = scaleValues(q);
        let worst = 0;
        for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(deq[i]! - expected[i]!) - s[Math.floor(i / 32)]! * 0.504);
        expect(worst, name).toBeLessThanOrEqual(1e-12);
      } else if (entry.dtype === 'float32') {
        const actual = new Float32Array(bytes.buffer);
        expect(actual.length).toBe(expected.length);
        expect(actual.findIndex((v, i) => v !== expected[i]), name).toBe(-1);
      } else {
        const half = fromFloat16Array(new Uint16Array(bytes.buffer));
        expect(half.length).toBe(expected.length);
        // bf16 → f16 is exact in f16's normal range; below it, subnormal steps of 2^-24.
        let worst = 0;
        for (let i = 0; i < half.length; i++) worst = Math.max(worst, Math.abs(half[i]! - expected[i]!) - Math.abs(expected[i]!) * 2 ** -11 - 2 ** -25);
        expect(worst, name).toBeLessThanOrEqual(0);
      }
    }
    // Only the graphs an engine path runs (the ORT vision baseline, the decoder), each binding listed weights; the
    // baseline binds every vision weight (visual.*, and the projector's norm.*); no pipelines.
    expect(manifest.graphs.map((g) => g.name)).toEqual(['vision-whole', 'decoder']);
    for (const g of manifest.graphs) for (const w of Object.values(g.weights)) expect(manifest.weights[w], `${g.name} binds ${w}`).toBeDefined();
    const visionWeights = Object.keys(manifest.weights).filter((w) => w.startsWith('visual.') || w.startsWith('norm.'));
    expect(Object.values(manifest.graphs[0]!.weights).sort()).toEqual(visionWeights.sort());
    expect(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))).not.toHaveProperty('pipelines');
  });

  it('validates manifests naming the field, expected and actual value', async () => {
    const out = join(dir, 'pkg-fp32');
    const json = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    /** A copy of the manifest with the value at `path` replaced. */
    const mutate = (path: readonly (string | number)[], value: unknown): unknown => {
      const copy = structuredClone(json);
      let node = copy as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
      node[path[path.length - 1]!] = value;
      return copy;
    };
    const check = (m: unknown, pattern: RegExp | string): void => {
      try {
        parseManifest(m);
        throw new Error('expected parseManifest to fail');
      } catch (e) {
        expect(isSarashinaError(e, 'invalid-model'), String(e)).toBe(true);
        expect((e as Error).message).toMatch(pattern);
      }
    };
    check(mutate(['precision'], 'int8'), /precision must be one of fp32, q4f32, q4f16, but it is "int8"/);
    check(mutate(['formatVersion'], 4), /formatVersion must be 1 \(exporter 0\.1\.0\), 2 \(exporter 0\.2\.0\) or 3 \(exporter 0\.3\.0 or later\), but it is 4/);
    check(mutate(['shards', 0, 'sha256'], 'abc'), /shards\[0\]\.sha256 must be 64 lower-case hex digits/);
    check(mutate(['model', 'text', 'hiddenSize'], -4), /model\.text\.hiddenSize must be a finite integer > 0, but it is -4/);
    const norm = WEIGHTS.projectorNorm.weight;
    check(mutate(['weights', norm, 'parts', 0, 'byteOffset'], 10 ** 9), `weights["${norm}"].parts[0].byteOffset must be a range inside weights-`);
    check(mutate(['weights', norm, 'shape'], [3]), `weights["${norm}"].sizeBytes must be 12`);
    // Weight-name templates (format 1's vision-block) are gone: a binding is a weight name.
    check(mutate(['graphs', 0, 'weights', 'x'], 'visual.blocks.{block}.attn.qkv.weight'), /graphs\[0\]\.weights\.x must be a weight listed in weights/);
    check(mutate(['graphs', 0, 'name'], 'vision-block'), /graphs\[0\]\.name must be one of vision-whole, decoder, but it is "vision-block"/);
    check(mutate(['graphs', 1, 'name'], 'vision-whole'), /graphs\[1\]\.name must be a graph listed once/);
    check(mutate(['graphs'], (json.graphs as unknown[]).slice(1)), /graphs must be a list holding graph "vision-whole"/);
    check(mutate(['tokenizer', 'tokenizer', 'path'], '../x'), /tokenizer\.tokenizer\.path must be a relative path inside the package/);
  });
});

describe('exportPackage with a weight part limit (row parts)', () => {
  // 4000 bytes: the tiny model's lm_head codes (2048 rows × 32 B), its f16 table (128 B rows), gate/up (160 × 32 B)
  // and down (64 × 80 B) are cut, q/k/v/o (64 × 32 B = 2 KiB) stay whole. Vision weights are never cut.
  const LIMIT = 4000;
  it.each(['q4f32', 'fp32'] as const)('%s: parts ≤ the limit, cut at whole rows, a smaller last part, bytes equal to the unsplit package', async (precision) => {
    const out = join(dir, `split-${precision}`);
    const { manifest } = await exportPackage(ckpt, out, { precision, maxShardBytes: SHARD, maxWeightPartBytes: LIMIT });
    const whole = await readPackageManifest(join(dir, `pkg-${precision}`));
    expect(whole.weightSplits).toEqual({});
    const split = Object.keys(manifest.weightSplits);
    const layer = WEIGHTS.decoderLayer(0);
    for (const name of [WEIGHTS.lmHead, WEIGHTS.embedTokens, layer.gate, layer.up, layer.down]) expect(split, name).toContain(name);
    if (precision === 'q4f32') {
      expect(split).toContain(scalesName(WEIGHTS.lmHead));
      expect(split).not.toContain(layer.q);
    }
    expect(split.filter((n) => n.startsWith('visual.') || n.startsWith('norm.'))).toEqual([]);
    for (const [name, { rows, parts }] of Object.entries(manifest.weightSplits)) {
      expect(manifest.weights[name], `${name} is only its parts`).toBeUndefined();
      const partRows = parts.map((p) => manifest.weights[p]!.shape[0]!);
      expect(partRows.reduce((a, b) => a + b, 0)).toBe(rows);
      expect(new Set(partRows.slice(0, -1)).size, name).toBe(1);
      expect(partRows.at(-1)!, name).toBeLessThanOrEqual(partRows[0]!);
      for (const p of parts) expect(manifest.weights[p]!.sizeBytes, p).toBeLessThanOrEqual(LIMIT);
      // The concatenated parts are the weight the unsplit export wrote (checked against the checkpoint above).
      const bytes = await readPackageWeight(out, manifest, name);
      expect(Buffer.from(bytes).equals(Buffer.from(await readPackageWeight(join(dir, `pkg-${precision}`), whole, name))), name).toBe(true);
    }
    // lm_head: some part smaller than the others (2048 rows never divide evenly here).
    const lmRows = manifest.weightSplits[WEIGHTS.lmHead]!.parts.map((p) => manifest.weights[p]!.shape[0]!);
    expect(lmRows.at(-1)!).toBeLessThan(lmRows[0]!);
    // The decoder graph binds the parts, never a whole split name.
    const decoder = manifest.graphs.find((g) => g.name === 'decoder')!;
    const bound = new Set(Object.values(decoder.weights));
    for (const [name, { parts }] of Object.entries(manifest.weightSplits)) {
      if (name === WEIGHTS.embedTokens) continue; // gathered by the engine, not in the graph
      expect(bound.has(name)).toBe(false);
      for (const p of parts) expect(bound.has(p), p).toBe(true);
    }
  });

  it('manifest validation of weightSplits names the field', async () => {
    const json = JSON.parse(await readFile(join(dir, 'split-q4f32', 'manifest.json'), 'utf8')) as { weightSplits: Record<string, { rows: number; parts: string[] }>; weights: Record<string, unknown> };
    expect(() => parseManifest(json)).not.toThrow();
    const lm = WEIGHTS.lmHead;
    const edit = (f: (m: typeof json) => void): unknown => {
      const copy = structuredClone(json);
      f(copy);
      return copy;
    };
    const check = (m: unknown, pattern: RegExp | string): void => {
      const message = typeof pattern === 'string' ? expect.stringContaining(pattern) : expect.stringMatching(pattern);
      expect(() => parseManifest(m)).toThrow(expect.objectContaining({ code: 'invalid-model', message }));
    };
    check(edit((m) => (m.weightSplits[lm]!.rows += 1)), `weightSplits["${lm}"].rows must be the parts' rows added up (2048)`);
    check(edit((m) => (m.weightSplits[lm]!.parts[1] = 'nope')), `weightSplits["${lm}"].parts[1] must be a weight listed in weights`);
    check(edit((m) => (m.weightSplits[lm]!.parts = m.weightSplits[lm]!.parts.slice(0, 1))), `weightSplits["${lm}"].parts must be at least 2 part weights`);
    check(edit((m) => (m.weights[lm] = m.weights[`${lm}.part0`])), `weightSplits["${lm}"] must be the name of a weight stored only as parts`);
    // Parts of different kinds (codes vs scales).
    check(edit((m) => (m.weightSplits[lm]!.parts[1] = `${lm}.part1.scales`)), `weightSplits["${lm}"].parts[1] must be a part like`);
    // An int4 part without its own scales.
    check(edit((m) => delete m.weights[`${lm}.part2.scales`]), /scales/);
    // Format 2 had no splits: weightSplits is not read.
    const format2 = parseManifest({ ...(await readPackageManifest(join(dir, 'pkg-q4f32'))), formatVersion: 2, weightSplits: 'ignored' });
    expect(format2.weightSplits).toEqual({});
  });

  it('a limit below one row is refused before anything is written', async () => {
    await expectFailure(() => exportPackage(ckpt, join(dir, 'out-part'), { precision: 'fp32', maxWeightPartBytes: 100 }), 'invalid-request', /smaller than one row of llm\.model\.embed_tokens\.weight \(256 bytes\)/);
    await expectFailure(() => exportPackage(ckpt, join(dir, 'out-part'), { precision: 'fp32', maxWeightPartBytes: 0 }), 'invalid-request', /maxWeightPartBytes 0/);
    await expectNothingLeft(dir, 'out-part');
  });
});

describe('exportPackage from an http(s) base URL', () => {
  it('reads the checkpoint with range requests and writes the same package as from the directory', async () => {
    const server = await startRangeFileServer(ckpt, 'hf');
    try {
      const url = server.url;
      const fromUrl = await exportPackage(url, join(dir, 'pkg-url'), { precision: 'q4f32', maxShardBytes: SHARD });
      const fromDir = await readPackageManifest(join(dir, 'pkg-q4f32'));
      expect(server.rangeRequests).toBeGreaterThan(10);
      expect(fromUrl.manifest.shards).toEqual(fromDir.shards);
      expect(fromUrl.manifest.exporter.source).toBe(url);
    } finally {
      await server.close();
    }
  });
});

describe('exportPackage on bad input leaves nothing complete-looking', () => {
  it('missing shard', async () => {
    const src = join(dir, 'bad-missing');
    await copyCheckpoint(src);
    await rm(join(src, 'model.safetensors'));
    await expectFailure(() => exportPackage(src, join(dir, 'out-missing'), { precision: 'fp32' }), 'invalid-model', /model\.safetensors/);
    await expectNothingLeft(dir, 'out-missing');
  });

  it('tensor shape disagreeing with config.json names the tensor', async () => {
    const src = join(dir, 'bad-shape');
    await copyCheckpoint(src, (c) => ((c.text_config as Record<string, unknown>).intermediate_size = 192));
    await expectFailure(() => exportPackage(src, join(dir, 'out-shape'), { precision: 'q4f32' }), 'invalid-model', `Tensor ${WEIGHTS.decoderLayer(0).gate} has shape [160, 64] but config.json implies [192, 64]`);
    await expectNothingLeft(dir, 'out-shape');
  });

  it('unsupported dtype names the tensor and file', async () => {
    const src = join(dir, 'bad-dtype');
    await copyCheckpoint(src);
    const file = join(src, 'model.safetensors');
    const bytes = await readFile(file);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    // Same header length: F64 plus a space outside the quotes.
    const patched = header.replace('"dtype":"BF16"', '"dtype":"F64" ');
    expect(patched).not.toBe(header);
    bytes.set(new TextEncoder().encode(patched), 8);
    await writeFile(file, bytes);
    await expectFailure(() => exportPackage(src, join(dir, 'out-dtype'), { precision: 'fp32' }), 'invalid-model', /model\.safetensors: tensor \S+ has dtype "F64"/);
    await expectNothingLeft(dir, 'out-dtype');
  });

  it('a shard whose header lies (overlapping tensors, a size that does not fit the dtype) names file and tensor', async () => {
    /** Rewrites the header through `edit`, padded with spaces to its old length (the data stays where it is). */
    const patchHeader = async (src: string, edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void): Promise<void> => {
      const file = join(src, 'model.safetensors');
      const bytes = await readFile(file);
      const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Parameters<typeof edit>[0];
      edit(header);
      const text = JSON.stringify(header);
      expect(text.length).toBeLessThanOrEqual(length);
      bytes.set(new TextEncoder().encode(text.padEnd(length, ' ')), 8);
      await writeFile(file, bytes);
    };
    const byOffset = (h: Parameters<Parameters<typeof patchHeader>[1]>[0]) =>
      Object.entries(h).filter(([k]) => k !== '__metadata__').sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);

    const overlap = join(dir, 'bad-overlap');
    await copyCheckpoint(overlap);
    let moved = '';
    await patchHeader(overlap, (h) => {
      const [name, entry] = byOffset(h)[1] ?? ['', { data_offsets: [0, 0] as [number, number] }];
      moved = name;
      entry.data_offsets = [entry.data_offsets[0] - 2, entry.data_offsets[1] - 2];
    });
    await expectFailure(() => exportPackage(overlap, join(dir, 'out-overlap'), { precision: 'q4f32' }), 'invalid-model', new RegExp(`model\\.safetensors: tensor ${moved.replaceAll('.', '\\.')} starts at data offset`));
    await expectNothingLeft(dir, 'out-overlap');

    const size = join(dir, 'bad-size');
    await copyCheckpoint(size);
    let shrunk = '';
    await patchHeader(size, (h) => {
      const [name, entry] = byOffset(h).find(([, e]) => e.shape.length === 1 && (e.shape[0] ?? 0) > 1) ?? ['', { shape: [0] }];
      shrunk = name;
      entry.shape = [(entry.shape[0] ?? 2) - 1];
    });
    await expectFailure(() => exportPackage(size, join(dir, 'out-size'), { precision: 'fp32' }), 'invalid-model', `tensor ${shrunk}: BF16`);
    await expectNothingLeft(dir, 'out-size');
  });

  it('a full disk becomes storage-quota-exceeded naming the file and tensor', () => {
    const err = fileWriteError('/pkg.partial-1/weights-00003.bin', Object.assign(new Error('no space'), { code: 'ENOSPC' }), WEIGHTS.lmHead);
    expect(err.code).toBe('storage-quota-exceeded');
    expect(err.message).toContain(`writing /pkg.partial-1/weights-00003.bin failed (ENOSPC) while writing tensor ${WEIGHTS.lmHead}`);
    expect(err.details).toMatchObject({ file: '/pkg.partial-1/weights-00003.bin', tensor: WEIGHTS.lmHead });
  });

  it('unknown model_type', async () => {
    const src = join(dir, 'bad-type');
    await copyCheckpoint(src, (c) => (c.model_type = 'llava'));
    await expectFailure(() => exportPackage(src, join(dir, 'out-type'), { precision: 'fp32' }), 'invalid-model', /model_type.*llava/);
    await expectNothingLeft(dir, 'out-type');
  });

  it('write failure names the file; an existing --out is refused; abort cleans up', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'a file, not a directory');
    await expectFailure(() => exportPackage(ckpt, join(blocker, 'pkg'), { precision: 'fp32' }), 'internal', /blocker\/pkg\.partial-\d+/);
    await expectFailure(() => exportPackage(ckpt, join(dir, 'pkg-fp32'), { precision: 'fp32' }), 'invalid-request', /already exists/);
    expect((await stat(join(dir, 'pkg-fp32', 'manifest.json'))).isFile()).toBe(true);
    const controller = new AbortController();
    await expectFailure(
      () => exportPackage(ckpt, join(dir, 'out-abort'), { precision: 'fp32', signal: controller.signal, onProgress: () => controller.abort() }),
      'aborted',
      /cancelled before tensor/,
    );
    await expectNothingLeft(dir, 'out-abort');
  });
});
