/**
 * parseManifest on packages of the previous exporter. fixtures/manifest-format-1.json is the manifest that exporter
 * 0.1.0 (commit fded4c1) wrote for the tiny fixture checkpoint (export/reference/fixtures/tiny/checkpoint, fp32):
 * format 1, with the ORT-segmented vision graphs, a projector graph and `pipelines`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSarashinaError } from './errors';
import { MANIFEST_FORMAT_VERSION, packageFiles, parseManifest } from './manifest';

interface Format1 {
  formatVersion: number;
  graphs: { name: string; path: string }[];
  shards: unknown[];
  weights: Record<string, unknown>;
  pipelines: unknown;
}

const format1 = (): Format1 => JSON.parse(readFileSync('src/protocol/fixtures/manifest-format-1.json', 'utf8')) as Format1;

function expectInvalid(json: unknown, pattern: RegExp): void {
  try {
    parseManifest(json);
  } catch (e) {
    expect(isSarashinaError(e, 'invalid-model'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected parseManifest to fail');
}

describe('parseManifest: a format-1 package (exporter 0.1.0)', () => {
  it('loads as the current format without the graphs and pipelines no engine path runs; weights and shards unchanged', () => {
    const json = format1();
    expect(json.formatVersion).toBe(1);
    expect(json.graphs.map((g) => g.name)).toEqual(['vision-pre', 'vision-block', 'vision-block-last', 'vision-whole', 'projector', 'decoder']);
    expect(json.pipelines).toBeDefined();
    const m = parseManifest(json);
    expect(m.formatVersion).toBe(MANIFEST_FORMAT_VERSION);
    expect(m).not.toHaveProperty('pipelines');
    expect(m.graphs).toEqual(json.graphs.filter((g) => g.name === 'vision-whole' || g.name === 'decoder'));
    expect(m.weights).toEqual(json.weights);
    expect(m.shards).toEqual(json.shards);
    expect(m.exporter.version).toBe('0.1.0');
    // What a browser downloads: the dropped graphs' files are not asked for.
    const paths = packageFiles(m).map((f) => f.path);
    expect(paths).toContain('vision-whole.onnx');
    expect(paths.filter((p) => /vision-pre|vision-block|projector/.test(p))).toEqual([]);
  });

  it('still needs the graphs the engine runs', () => {
    const json = format1();
    expectInvalid({ ...json, graphs: json.graphs.filter((g) => g.name !== 'decoder') }, /graphs must be a list holding graph "decoder"/);
  });

  it('format 2 does not list the format-1-only graphs', () => {
    expectInvalid({ ...format1(), formatVersion: 2 }, /graphs\[0\]\.name must be one of vision-whole, decoder, but it is "vision-pre"/);
  });

  it('other format versions are refused naming the ones this engine reads and their exporters', () => {
    for (const version of [0, 4, '1', undefined]) {
      expectInvalid({ ...format1(), formatVersion: version }, /formatVersion must be 1 \(exporter 0\.1\.0\), 2 \(exporter 0\.2\.0\) or 3 \(exporter 0\.3\.0 or later\)/);
    }
  });
});
