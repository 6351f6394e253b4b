/**
 * Exporting the odd checkpoint (export/reference/fixtures/odd: hidden 144, intermediate 212, vocab 1000 — no int4
 * K a multiple of 32) in every precision: int4 weights in MatMulNBits' padded layout, and the q4 packages' decoder
 * graphs run on onnxruntime-web's CPU (wasm) EP with the package's own bytes, against the plain-TS forward on the
 * package's dequantized weights.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrt, type OrtTensor } from '../../src/ort/ort-runtime';
import { PRECISIONS, type PackageManifest, type Precision } from '../../src/protocol/manifest';
import { allDecoderLinears, scalesName } from '../../src/protocol/weight-names';
import { compareArrays, randomFloats } from '../../src/testing/compare';
import { decoderForwardReference, llamaRotaryTables } from '../reference-forward/decoder-reference';
import { SafetensorsCheckpoint } from '../../src/convert/safetensors/safetensors-checkpoint';
import { fromFloat16Array, toFloat16Array } from '../../src/convert/quantize/float16';
import { dequantizeInt4Block32, scaleValues, type Int4Weight } from '../../src/convert/quantize/int4-block-quantizer';
import { exportPackage } from './export-package';
import { readPackageManifest, readPackageWeight } from './package-reader';
import { openCheckpointLocation } from '../../src/convert/node-checkpoint-source';

const CHECKPOINT = 'export/reference/fixtures/odd/checkpoint';

let dir: string;
const manifests = new Map<Precision, PackageManifest>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'export-odd-'));
  for (const precision of PRECISIONS) {
    await exportPackage(CHECKPOINT, join(dir, precision), { precision });
    manifests.set(precision, await readPackageManifest(join(dir, precision)));
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The package's int4 weight `name` as the quantizer's type (cols = the true K from the checkpoint shape). */
async function packageInt4(precision: Precision, name: string, cols: number): Promise<Int4Weight> {
  const manifest = manifests.get(precision)!;
  const out = join(dir, precision);
  const packed = await readPackageWeight(out, manifest, name);
  const scalesEntry = manifest.weights[scalesName(name)]!;
  const bytes = await readPackageWeight(out, manifest, scalesName(name));
  const scales = scalesEntry.dtype === 'float32' ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return { packed, scales, scaleType: scalesEntry.dtype === 'float32' ? 'float32' : 'float16', rows: scalesEntry.shape[0] ?? 0, cols };
}

describe('exportPackage on the odd checkpoint (int4 K = 144 and 212)', () => {
  it.each(['q4f32', 'q4f16'] as const)('%s: every int4 weight is [N, ceil(K/32), 16] with padding codes 8, within scale/2 of the checkpoint', async (precision) => {
    const manifest = manifests.get(precision)!;
    const source = await SafetensorsCheckpoint.open(openCheckpointLocation(CHECKPOINT));
    for (const name of allDecoderLinears(manifest.model)) {
      const { shape, data } = await source.readFloat32(name);
      const [rows = 0, cols = 0] = shape;
      const blocks = Math.ceil(cols / 32);
      expect(cols % 32, name).not.toBe(0);
      expect(manifest.weights[name]!.shape, name).toEqual([rows, blocks, 16]);
      expect(manifest.weights[scalesName(name)]!.shape, name).toEqual([rows, blocks]);
      const q = await packageInt4(precision, name, cols);
      const scales = scaleValues(q);
      const deq = dequantizeInt4Block32(q);
      let worst = 0;
      for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(deq[i]! - data[i]!) - scales[Math.floor(i / cols) * blocks + Math.floor((i % cols) / 32)]! * 0.504);
      expect(worst, name).toBeLessThanOrEqual(1e-12);
      // The padded nibbles of each row's last block: code 8 (zero after dequantization).
      const tail = cols % 32;
      for (let r = 0; r < rows; r++) {
        for (let k = tail; k < 32; k++) {
          const byte = q.packed[(r * blocks + blocks - 1) * 16 + (k >> 1)]!;
          expect(k & 1 ? byte >> 4 : byte & 15, `${name} row ${r} padding ${k}`).toBe(8);
        }
      }
    }
  });

  // accuracy_level 4 (the package's) lets ORT quantize activations to int8 per block; f16 graphs round every
  // activation to f16. Bounds as float16-graphs.test.ts: 3e-2 of max |logit|.
  it.each(['q4f32', 'q4f16'] as const)('%s: the package decoder graph on the wasm CPU EP matches the forward with its dequantized weights', async (precision) => {
    const ort = await loadOrt();
    const manifest = manifests.get(precision)!;
    const out = join(dir, precision);
    const t = manifest.model.text;
    const graph = manifest.graphs.find((g) => g.name === 'decoder')!;
    const session = await ort.InferenceSession.create(await readFile(join(out, graph.path)), { executionProviders: ['wasm'] });
    try {
      const f16 = precision === 'q4f16';
      const S = 5;
      const MAX = 8;
      const embeds = f16 ? fromFloat16Array(toFloat16Array(randomFloats(S * t.hiddenSize, 3))) : randomFloats(S * t.hiddenSize, 3);
      const { cos, sin } = llamaRotaryTables(MAX, t.headDim, t.ropeTheta);
      const float = (data: Float32Array, dims: number[]): OrtTensor => (f16 ? new ort.Tensor('float16', toFloat16Array(data), dims) : new ort.Tensor('float32', data, dims));
      const feeds: Record<string, OrtTensor> = {
        inputs_embeds: float(embeds, [1, S, t.hiddenSize]),
        seqlens_k: new ort.Tensor('int32', new Int32Array([S - 1]), [1]),
        total_sequence_length: new ort.Tensor('int32', new Int32Array([S]), []),
        cos_cache: float(cos, [MAX, t.headDim / 2]),
        sin_cache: float(sin, [MAX, t.headDim / 2]),
      };
      for (let l = 0; l < t.numLayers; l++) {
        for (const kind of ['key', 'value']) feeds[`past_${kind}.${l}`] = float(new Float32Array(t.numKvHeads * MAX * t.headDim), [1, t.numKvHeads, MAX, t.headDim]);
      }
      // Every weight input from the package's bytes, as the engine binds them.
      const values = new Map<string, Float32Array>();
      const linears = new Set(allDecoderLinears(manifest.model));
      for (const [input, name] of Object.entries(graph.weights)) {
        const entry = manifest.weights[name]!;
        const bytes = await readPackageWeight(out, manifest, name);
        const data = entry.dtype === 'uint8' ? bytes : entry.dtype === 'float32' ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
        feeds[input] = new ort.Tensor(entry.dtype, data, entry.shape);
        if (linears.has(name)) continue;
        if (entry.layout === 'row-major') values.set(name, data instanceof Uint16Array ? fromFloat16Array(data) : (data as Float32Array));
      }
      for (const name of linears) {
        const k = name.endsWith('down_proj.weight') ? t.intermediateSize : t.hiddenSize;
        values.set(name, dequantizeInt4Block32(await packageInt4(precision, name, k)));
      }
      const result = await session.run(feeds);
      const logits = result.logits!.data;
      const got = logits instanceof Uint16Array ? fromFloat16Array(logits) : (logits as Float32Array);
      const all = decoderForwardReference(manifest.model, (name) => values.get(name) ?? new Float32Array(0), embeds);
      const expected = all.slice(all.length - t.vocabSize);
      const stats = compareArrays(got, expected);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(3e-2);
      expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.5);
    } finally {
      await session.release();
    }
  });

  it('fp32: the decoder linears stay [N, K] float32', () => {
    const manifest = manifests.get('fp32')!;
    const t = manifest.model.text;
    expect(manifest.weights[allDecoderLinears(manifest.model)[0]!]).toMatchObject({ dtype: 'float32', layout: 'row-major', shape: [t.hiddenSize, t.hiddenSize] });
  });
});
