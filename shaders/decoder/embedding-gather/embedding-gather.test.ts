import { describe, expect, it } from 'vitest';
import { fromFloat16Array, toFloat16Array } from '../../../src/convert/quantize/float16';
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../../src/gpu/gpu-buffers';
import { KernelCache } from '../../../src/gpu/kernel';
import { randomFloats } from '../../../src/testing/compare';
import { runDispatches } from '../../../src/testing/gpu-readback';
import { testGpuContext } from '../../../src/testing/node-gpu';
import { type EmbeddingGatherFormat, embeddingGatherReference, prepareEmbeddingGather } from './embedding-gather';

describe('embedding gather on real WebGPU', () => {
  const vocab = 50;
  const hidden = 96;
  // Repeated ids, the last row, and ids past the vocabulary (zero rows); 7 · 96 elements span several workgroups.
  const ids = new Uint32Array([7, 0, 49, 7, 1000, 50, 3]);
  const shape = { count: ids.length, hidden, vocab };
  const formats: EmbeddingGatherFormat[] = [
    { kind: 'f32', out: 'f32' },
    { kind: 'f16', out: 'f32' },
    { kind: 'f16', out: 'f16' },
  ];
  for (const format of formats) {
    it(`${format.kind} table → ${format.out} rows: exactly the reference's`, async () => {
      const { device } = await testGpuContext();
      const values = randomFloats(vocab * hidden, 4);
      const table = format.kind === 'f16' ? toFloat16Array(values) : values;
      const outBytes = ids.length * hidden * (format.out === 'f16' ? 2 : 4);
      const bufs = {
        ids: uploadBuffer(device, 'ids', ids),
        table: uploadBuffer(device, 'table', table),
        out: uploadBuffer(device, 'out', new Uint8Array(outBytes).fill(0xff)),
      };
      const k = prepareEmbeddingGather(new KernelCache(device), bufs, format, shape);
      await runDispatches(device, [k]);
      const raw = await readBuffer(device, bufs.out, outBytes);
      const got = format.out === 'f16' ? new Uint16Array(raw) : new Float32Array(raw);
      const want = embeddingGatherReference(table, ids, format, shape);
      ids.forEach((id, t) => {
        expect(Array.from(got.subarray(t * hidden, (t + 1) * hidden)), `row ${t} (id ${id})`).toEqual(Array.from(want.subarray(t * hidden, (t + 1) * hidden)));
      });
      // The reference itself: rows by id (f16 decoded as the exporter's converter does), zeros past the vocabulary.
      if (format.out === 'f32') {
        const exact = format.kind === 'f16' ? fromFloat16Array(toFloat16Array(values)) : values;
        expect(Array.from(want.subarray(0, hidden))).toEqual(Array.from(exact.subarray(7 * hidden, 8 * hidden)));
      }
      expect(Array.from(want.subarray(4 * hidden, 6 * hidden))).toEqual(new Array(2 * hidden).fill(0));
      k.destroy();
      for (const b of Object.values(bufs)) b.destroy();
    });
  }

  // A table stored as row parts (uneven: 17, 17, 16 rows): one dispatch per part, each claiming its ids, the last part
  // also the ids past the vocabulary; together they give the reference's rows of the whole table. Ids on both sides
  // of each part boundary.
  const partIds = new Uint32Array([16, 17, 0, 33, 34, 49, 1000, 50, 20]);
  const partShape = { count: partIds.length, hidden, vocab };
  for (const format of formats) {
    it(`${format.kind} table → ${format.out} rows in row parts: exactly the whole table's reference`, async () => {
      const { device } = await testGpuContext();
      const values = randomFloats(vocab * hidden, 5);
      const table = format.kind === 'f16' ? toFloat16Array(values) : values;
      const outBytes = partIds.length * hidden * (format.out === 'f16' ? 2 : 4);
      const idBuffer = uploadBuffer(device, 'ids', partIds);
      const out = uploadBuffer(device, 'out', new Uint8Array(outBytes).fill(0xff));
      const kernels = new KernelCache(device);
      const parts: GPUBuffer[] = [];
      const dispatches = [17, 17, 16].map((rows, i, all) => {
        const firstRow = all.slice(0, i).reduce((a, b) => a + b, 0);
        const part = uploadBuffer(device, `table.part${i}`, table.subarray(firstRow * hidden, (firstRow + rows) * hidden));
        parts.push(part);
        return prepareEmbeddingGather(kernels, { ids: idBuffer, table: part, out }, format, { count: partIds.length, hidden, vocab: rows, firstRow, lastPart: i === all.length - 1 });
      });
      await runDispatches(device, dispatches);
      const raw = await readBuffer(device, out, outBytes);
      const got = format.out === 'f16' ? new Uint16Array(raw) : new Float32Array(raw);
      expect(Array.from(got)).toEqual(Array.from(embeddingGatherReference(table, partIds, format, partShape)));
      for (const d of dispatches) d.destroy();
      for (const b of [idBuffer, out, ...parts]) b.destroy();
    });
  }

  it('rejects an f16 table with an odd hidden size and a too-small output', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const big = createStorageBuffer(device, 'big', vocab * hidden * 4);
    const small = createStorageBuffer(device, 'small', 64);
    expect(() => prepareEmbeddingGather(kernels, { ids: big, table: big, out: big }, { kind: 'f16', out: 'f32' }, { count: 1, hidden: 95, vocab })).toThrow(
      expect.objectContaining({ code: 'invalid-model' }),
    );
    expect(() => prepareEmbeddingGather(kernels, { ids: big, table: big, out: small }, { kind: 'f32', out: 'f32' }, { count: 2, hidden, vocab })).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringContaining('buffer out holds 64 bytes, needs 768') }),
    );
    for (const b of [big, small]) b.destroy();
  });
});

