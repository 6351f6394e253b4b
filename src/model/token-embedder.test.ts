import { describe, expect, it } from 'vitest';
import { fromFloat16Array, toFloat16Array } from '../convert/quantize/float16';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../gpu/gpu-buffers';
import { KernelCache } from '../gpu/kernel';
import type { ModelSpec } from '../protocol/model-spec';
import { randomFloats } from '../testing/compare';
import { testGpuContext } from '../testing/node-gpu';
import type { GpuRowPart, GpuWeight } from './model-weights';
import { EMBED_TOKENS_WEIGHT, TokenEmbedder, validateFeatureSpans } from './token-embedder';
import type { FeatureSpan, ImageFeatures } from './vision-language-model';

const VOCAB = 50;
const HIDDEN = 64;
const spec = { text: { hiddenSize: HIDDEN, vocabSize: VOCAB } } as unknown as ModelSpec;

function tableWeight(buffer: GPUBuffer, dtype: 'float32' | 'float16'): { rowParts: (name: string) => GpuRowPart[] } {
  const weight: GpuWeight = { name: EMBED_TOKENS_WEIGHT, buffer, dtype, shape: [VOCAB, HIDDEN], layout: 'row-major', sizeBytes: buffer.size };
  return { rowParts: () => [{ weight, firstRow: 0, rows: VOCAB }] };
}

/** The table cut into row parts of `rows` rows (as the exporter stores a table over its part limit), one buffer each. */
function tableParts(device: GPUDevice, table: Float32Array | Uint16Array, rows: readonly number[]): { rowParts: () => GpuRowPart[]; buffers: GPUBuffer[] } {
  const dtype = table instanceof Float32Array ? 'float32' : 'float16';
  let firstRow = 0;
  const parts = rows.map((n, i): GpuRowPart => {
    const buffer = uploadBuffer(device, `table.part${i}`, table.subarray(firstRow * HIDDEN, (firstRow + n) * HIDDEN));
    const weight: GpuWeight = { name: `${EMBED_TOKENS_WEIGHT}.part${i}`, buffer, dtype, shape: [n, HIDDEN], layout: 'row-major', sizeBytes: buffer.size };
    firstRow += n;
    return { weight, firstRow: firstRow - n, rows: n };
  });
  return { rowParts: () => parts, buffers: parts.map((p) => p.weight.buffer) };
}

function recordAll(device: GPUDevice, copy: (encoder: GPUCommandEncoder) => void, dispatches: readonly { record(pass: GPUComputePassEncoder): void }[]): void {
  const encoder = device.createCommandEncoder();
  copy(encoder);
  const pass = encoder.beginComputePass();
  for (const d of dispatches) d.record(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

describe('TokenEmbedder', () => {
  it.each(['float32', 'float16'] as const)('%s table: chunked embed with a feature span crossing the chunk boundary; token gather from a GPU id', async (dtype) => {
    const { device } = await testGpuContext();
    const values = randomFloats(VOCAB * HIDDEN, 21);
    const exact = dtype === 'float16' ? fromFloat16Array(toFloat16Array(values)) : values;
    const table = uploadBuffer(device, 'table', dtype === 'float16' ? toFloat16Array(values) : values);
    const featureValues = randomFloats(10 * HIDDEN, 22);
    const features: ImageFeatures = { buffer: uploadBuffer(device, 'features', featureValues), rows: 10, rowsPerImage: [10], release: () => undefined };
    const embedder = TokenEmbedder.create(device, new KernelCache(device), tableWeight(table, dtype), spec, { maxRows: 5 });
    const ids = Int32Array.from([3, 7, 14, 14, 14, 14, 14, 14, 9, 49, 0, 3]);
    const spans: FeatureSpan[] = [{ start: 2, length: 6, features, featureRow: 3 }];
    const rows: Float32Array[] = [];
    for (const [start, end] of [[0, 5], [5, 10], [10, 12]] as const) {
      const out = embedder.embed(ids.subarray(start, end), spans, start);
      rows.push(new Float32Array(await readBuffer(device, out, (end - start) * HIDDEN * 4)));
    }
    const got = new Float32Array(ids.length * HIDDEN);
    rows.reduce((at, r) => (got.set(r, at), at + r.length), 0);
    ids.forEach((id, i) => {
      const want = i >= 2 && i < 8 ? featureValues.subarray((3 + i - 2) * HIDDEN, (4 + i - 2) * HIDDEN) : exact.subarray(id * HIDDEN, (id + 1) * HIDDEN);
      expect(Array.from(got.subarray(i * HIDDEN, (i + 1) * HIDDEN)), `row ${i}`).toEqual(Array.from(want));
    });

    const token = uploadBuffer(device, 'token', new Uint32Array([41, 0, 0, 0]));
    const out = createStorageBuffer(device, 'token-row', HIDDEN * 4);
    recordAll(device, (e) => embedder.copyTokenId(e, token), embedder.prepareTokenGather(out));
    expect(Array.from(new Float32Array(await readBuffer(device, out, HIDDEN * 4)))).toEqual(Array.from(exact.subarray(41 * HIDDEN, 42 * HIDDEN)));
    embedder.dispose();
    for (const b of [table, features.buffer, token, out]) b.destroy();
  });

  it('float16 rows (q4f16): table rows and f16 features copied bit for bit; f32 token rows for the decode kernels', async () => {
    const { device } = await testGpuContext();
    const bits = toFloat16Array(randomFloats(VOCAB * HIDDEN, 31));
    const table = uploadBuffer(device, 'table', bits);
    const featureBits = toFloat16Array(randomFloats(4 * HIDDEN, 32));
    const features = { buffer: uploadBuffer(device, 'features', featureBits), rows: 4, rowsPerImage: [4], dtype: 'float16' as const, release: () => undefined };
    const embedder = TokenEmbedder.create(device, new KernelCache(device), tableWeight(table, 'float16'), spec, { maxRows: 8, dtype: 'float16' });
    const ids = Int32Array.from([5, 14, 14, 49, 2, 60]);
    const spans: FeatureSpan[] = [{ start: 1, length: 2, features, featureRow: 1 }];
    validateFeatureSpans(ids.length, spans, HIDDEN, 'float16');
    expect(() => validateFeatureSpans(ids.length, spans, HIDDEN, 'float32')).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    const got = new Uint16Array(await readBuffer(device, embedder.embed(ids, spans, 0), ids.length * HIDDEN * 2));
    ids.forEach((id, i) => {
      const want = i === 1 || i === 2 ? featureBits.subarray(i * HIDDEN, (i + 1) * HIDDEN) : id < VOCAB ? bits.subarray(id * HIDDEN, (id + 1) * HIDDEN) : new Uint16Array(HIDDEN);
      expect(Array.from(got.subarray(i * HIDDEN, (i + 1) * HIDDEN)), `row ${i}`).toEqual(Array.from(want));
    });
    // The decode kernels' token gather asks for f32 rows of the same f16 table (f16 → f32 is exact).
    const token = uploadBuffer(device, 'token', new Uint32Array([17, 0, 0, 0]));
    const out = createStorageBuffer(device, 'token-row', HIDDEN * 4);
    recordAll(device, (e) => embedder.copyTokenId(e, token), embedder.prepareTokenGather(out, 'float32'));
    expect(Array.from(new Float32Array(await readBuffer(device, out, HIDDEN * 4)))).toEqual(Array.from(fromFloat16Array(bits.subarray(17 * HIDDEN, 18 * HIDDEN))));
    embedder.dispose();
    for (const b of [table, features.buffer, token, out]) b.destroy();
  });

  // A table stored as row parts of uneven rows (20, 20, 10 of 50): each id is gathered from the part holding its row,
  // ids at part boundaries included, and ids past the vocabulary still give zero rows; the decode gather reads the
  // same parts. Expected rows come from the whole table.
  it.each(['float32', 'float16'] as const)('%s table in row parts: the rows of the whole table, zeros past the vocabulary', async (dtype) => {
    const { device } = await testGpuContext();
    const values = randomFloats(VOCAB * HIDDEN, 41);
    const whole = dtype === 'float16' ? toFloat16Array(values) : values;
    const exact = dtype === 'float16' ? fromFloat16Array(whole as Uint16Array) : values;
    const split = tableParts(device, whole, [20, 20, 10]);
    const embedder = TokenEmbedder.create(device, new KernelCache(device), split, spec, { maxRows: 8 });
    const ids = Int32Array.from([0, 19, 20, 39, 40, 49, 7, 45]);
    const got = new Float32Array(await readBuffer(device, embedder.embed(ids, [], 0), ids.length * HIDDEN * 4));
    ids.forEach((id, i) => expect(Array.from(got.subarray(i * HIDDEN, (i + 1) * HIDDEN)), `row ${i} (id ${id})`).toEqual(Array.from(exact.subarray(id * HIDDEN, (id + 1) * HIDDEN))));
    const out = createStorageBuffer(device, 'token-row', HIDDEN * 4);
    for (const [id, want] of [
      [40, exact.subarray(40 * HIDDEN, 41 * HIDDEN)],
      [21, exact.subarray(21 * HIDDEN, 22 * HIDDEN)],
      // Past the vocabulary (the engine refuses such ids on the CPU; a corrupt one shows as a zero row).
      [VOCAB + 3, new Float32Array(HIDDEN)],
    ] as const) {
      const token = uploadBuffer(device, 'token', new Uint32Array([id, 0, 0, 0]));
      device.queue.writeBuffer(out, 0, new Float32Array(HIDDEN).fill(7));
      recordAll(device, (e) => embedder.copyTokenId(e, token), embedder.prepareTokenGather(out, 'float32'));
      expect(Array.from(new Float32Array(await readBuffer(device, out, HIDDEN * 4))), `token ${id}`).toEqual(Array.from(want));
      token.destroy();
    }
    embedder.dispose();
    for (const b of [...split.buffers, out]) b.destroy();
  });

  it('rejects a table layout the exporter never writes (int4) and f16 activations over an f32 table', async () => {
    const { device } = await testGpuContext();
    const table = createStorageBuffer(device, 'table', VOCAB * HIDDEN * 4);
    const int4: GpuWeight = { name: EMBED_TOKENS_WEIGHT, buffer: table, dtype: 'uint8', shape: [VOCAB, HIDDEN], layout: 'matmulnbits-q4-b32', sizeBytes: table.size };
    const kernels = new KernelCache(device);
    expect(() => TokenEmbedder.create(device, kernels, { rowParts: () => [{ weight: int4, firstRow: 0, rows: VOCAB }] }, spec, { maxRows: 4 })).toThrow(
      expect.objectContaining({ code: 'invalid-model' }),
    );
    // Row parts that do not cover the vocabulary.
    const short = { rowParts: () => [{ weight: { ...int4, dtype: 'float32' as const, layout: 'row-major' as const }, firstRow: 0, rows: VOCAB - 1 }] };
    expect(() => TokenEmbedder.create(device, kernels, short, spec, { maxRows: 4 })).toThrow(expect.objectContaining({ code: 'invalid-model', message: expect.stringContaining(`${VOCAB - 1} rows`) }));
    expect(() => TokenEmbedder.create(device, kernels, tableWeight(table, 'float32'), spec, { maxRows: 4, dtype: 'float16' })).toThrow(
      expect.objectContaining({ code: 'invalid-model', message: expect.stringContaining('for f16 activations') }),
    );
    table.destroy();
  });

  it('validateFeatureSpans names the span that leaves the ids or its features', async () => {
    const { device } = await testGpuContext();
    const buffer = createStorageBuffer(device, 'f', 4 * HIDDEN * 4);
    const features: ImageFeatures = { buffer, rows: 4, rowsPerImage: [4], release: () => undefined };
    expect(() => validateFeatureSpans(10, [{ start: 2, length: 4, features, featureRow: 0 }], HIDDEN)).not.toThrow();
    expect(() => validateFeatureSpans(10, [{ start: 8, length: 4, features, featureRow: 0 }], HIDDEN)).toThrow(expect.objectContaining({ code: 'invalid-request', message: expect.stringContaining('past the 10 prefilled ids') }));
    expect(() => validateFeatureSpans(10, [{ start: 0, length: 3, features, featureRow: 2 }], HIDDEN)).toThrow(expect.objectContaining({ code: 'invalid-request', message: expect.stringContaining('features hold 4') }));
    expect(() => validateFeatureSpans(10, [{ start: -1, length: 3, features, featureRow: 0 }], HIDDEN)).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    buffer.destroy();
  });
});
