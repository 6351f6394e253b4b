/**
 * Peak JavaScript memory while the engine streams a large package's weights into GPU buffers
 * (ModelWeights.upload, the same code the browser runs after download). The claim to check: JS memory
 * stays bounded by a few stream chunks, not by the model's size.
 *
 *   node --expose-gc node_modules/vite-node/dist/cli.mjs bench/load-heap.bench.ts -- [--gb 2] [--out file.json]
 *
 * Writes a synthetic package (random bytes in 256 MB shards, one 64 MB weight each part, plus one weight split over
 * two shards like an 8B embedding table) into a temp dir, uploads it through Dawn (SwiftShader on a machine without
 * a GPU, whose "GPU" memory is host memory outside the JS heap), and samples process.memoryUsage() every 5 ms.
 */
import { execSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GpuContext } from '../src/gpu/gpu-context';
import { installNodeWebGpu } from '../src/gpu/node-webgpu';
import { NodeDirSource } from '../src/loader/node-dir-source';
import { ModelWeights } from '../src/model/model-weights';
import type { PackageManifest, WeightEntry } from '../src/protocol/manifest';

const { values } = parseArgs({ options: { gb: { type: 'string', default: '2' }, out: { type: 'string' } }, allowPositionals: true });
const SHARD = 256 * 1024 * 1024;
const WEIGHT = 64 * 1024 * 1024;
const shards = Math.max(2, Math.round((Number(values.gb) * 1e9) / SHARD));
const dir = mkdtempSync(join(tmpdir(), 'load-heap-'));

const weights: Record<string, WeightEntry> = {};
const chunk = Buffer.alloc(WEIGHT);
for (let s = 0; s < shards; s++) {
  const path = `weights-${String(s).padStart(5, '0')}.bin`;
  const parts: Buffer[] = [];
  for (let w = 0; w < SHARD / WEIGHT; w++) {
    randomFillSync(chunk);
    parts.push(Buffer.from(chunk));
    const last = s < shards - 1 && w === SHARD / WEIGHT - 1;
    if (last) continue; // the shard's last slot starts a weight that continues into the next shard
    const first = s > 0 && w === 0;
    weights[`w.${s}.${w}`] = {
      parts: first
        ? [{ shard: `weights-${String(s - 1).padStart(5, '0')}.bin`, byteOffset: SHARD - WEIGHT, sizeBytes: WEIGHT }, { shard: path, byteOffset: 0, sizeBytes: WEIGHT }]
        : [{ shard: path, byteOffset: w * WEIGHT, sizeBytes: WEIGHT }],
      sizeBytes: first ? 2 * WEIGHT : WEIGHT,
      dtype: 'uint8',
      shape: [first ? 2 * WEIGHT : WEIGHT],
      layout: 'row-major',
    };
  }
  writeFileSync(join(dir, path), Buffer.concat(parts));
}
const totalBytes = shards * SHARD;
const manifest = {
  shards: Array.from({ length: shards }, (_, s) => ({ path: `weights-${String(s).padStart(5, '0')}.bin`, sizeBytes: SHARD, sha256: '' })),
  weights,
  weightSplits: {},
} as unknown as PackageManifest; // ModelWeights.upload reads only shards, weights and weightSplits

const gc = (globalThis as { gc?: () => void }).gc;
const gpu = await installNodeWebGpu();
const ctx = await GpuContext.create({ gpu });
gc?.();
const base = process.memoryUsage();
let peakHeap = base.heapUsed;
let peakArrayBuffers = base.arrayBuffers;
const timer = setInterval(() => {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
}, 5);
const started = performance.now();
const loaded = await ModelWeights.upload(ctx, manifest, new NodeDirSource(dir));
const seconds = (performance.now() - started) / 1000;
clearInterval(timer);
loaded.dispose();
ctx.dispose();
rmSync(dir, { recursive: true, force: true });

const mb = (n: number): number => Math.round(n / 1e6);
const result = {
  date: new Date().toISOString(),
  commit: execSync('git rev-parse --short HEAD').toString().trim(),
  adapter: `${ctx.capabilities.vendor} ${ctx.capabilities.architecture}`.trim(),
  runtime: `Node ${process.version}, Dawn webgpu`,
  packageMB: mb(totalBytes),
  weights: Object.keys(weights).length,
  seconds: Number(seconds.toFixed(2)),
  peakHeapAboveBaseMB: mb(peakHeap - base.heapUsed),
  peakArrayBuffersAboveBaseMB: mb(peakArrayBuffers - base.arrayBuffers),
};
console.table(result);
if (values.out) writeFileSync(values.out, JSON.stringify(result, null, 2));
