/**
 * Conversion throughput of the one converter (src/convert/convert-checkpoint.ts) in Node, reading the checkpoint the
 * way the browser does: over HTTP with Range requests from a local server (src/testing/range-file-server.ts), into a
 * ModelStore (the Node cache's NodeFsStore; the browser's is OPFS) with the pure-JS SHA-256 the browser uses, or with
 * --sink dir into a directory as `npm run export` writes it. Reports checkpoint input bytes per second, wall time,
 * peak RSS and the package written; the package is deleted afterwards unless --keep.
 *
 *   node node_modules/vite-node/dist/cli.mjs bench/convert.bench.ts -- --checkpoint DIR [--precision q4f16|q4f32|fp32]
 *     [--sink store|dir] [--resumable] [--work DIR] [--keep] [--out result.json]
 *
 * --resumable: as createEngine converts (a journal after every ~1 MiB of output, the shard in progress flushed).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint } from '../src/convert/convert-checkpoint';
import { openHttpFolderCheckpoint } from '../src/convert/http-folder-source';
import { DirectorySink } from '../src/convert/node-directory-sink';
import type { PackageSink } from '../src/convert/package-sink';
import { StoreSink } from '../src/convert/store-sink';
import { NodeFsStore } from '../src/loader/node-fs-store';
import { PRECISIONS, type Precision } from '../src/protocol/manifest';
import { startRangeFileServer } from '../src/testing/range-file-server';

const { values } = parseArgs({
  allowPositionals: true,
  options: {
    checkpoint: { type: 'string' },
    precision: { type: 'string', default: 'q4f16' },
    sink: { type: 'string', default: 'store' },
    'node-hash': { type: 'boolean', default: false },
    resumable: { type: 'boolean', default: false },
    work: { type: 'string' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
if (!values.checkpoint || !PRECISIONS.includes(values.precision as Precision) || !['store', 'dir'].includes(values.sink)) {
  console.error('Usage: bench/convert.bench.ts -- --checkpoint DIR [--precision q4f16|q4f32|fp32] [--sink store|dir] [--node-hash] [--resumable] [--work DIR] [--keep] [--out file.json]');
  process.exit(2);
}
const precision = values.precision as Precision;
const work = values.work ? resolve(values.work) : mkdtempSync(join(tmpdir(), 'convert-bench-'));
const server = await startRangeFileServer(resolve(values.checkpoint), 'ckpt');
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const nodeHash = (): { update(b: Uint8Array): unknown; digestHex(): string } => {
  const h = createHash('sha256');
  return { update: (b) => h.update(b), digestHex: () => h.digest('hex') };
};
const sink: PackageSink =
  values.sink === 'dir' ? new DirectorySink(join(work, 'package'), { resumable: values.resumable }) : new StoreSink(new NodeFsStore(join(work, 'store')), 'bench', values['node-hash'] ? { newHash: nodeHash } : {});
let last = { doneBytes: 0, readBytes: 0, totalBytes: 0 };
let lastLine = 0;
const started = performance.now();
try {
  const result = await convertCheckpoint(openHttpFolderCheckpoint(server.url), sink, {
    precision,
    resumable: values.resumable,
    onProgress: (p) => {
      last = p;
      const now = performance.now();
      if (now - lastLine > 5000) {
        lastLine = now;
        console.error(`${(p.doneBytes / 1e9).toFixed(2)} / ${(p.totalBytes / 1e9).toFixed(2)} GB converted, ${(p.bytesPerSecond / 1e6).toFixed(0)} MB/s`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    checkpoint: resolve(values.checkpoint),
    precision,
    sink: values.sink,
    resumable: values.resumable,
    hash: values.sink === 'dir' || values['node-hash'] ? 'node:crypto' : 'pure-JS (as the browser)',
    seconds: Number(seconds.toFixed(1)),
    inputBytes: last.totalBytes,
    downloadedBytes: last.readBytes,
    inputGBps: Number((last.totalBytes / seconds / 1e9).toFixed(3)),
    packageBytes: result.totalBytes,
    shards: result.manifest.shards.length,
    peakRssMB: Math.round(peakRss / 1e6),
    rangeRequests: server.rangeRequests,
  };
  console.log(JSON.stringify(summary, null, 1));
  if (values.out) writeFileSync(values.out, `${JSON.stringify(summary, null, 1)}\n`);
} finally {
  clearInterval(sampler);
  await server.close();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
