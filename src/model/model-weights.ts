/**
 * The model's weights on the GPU: one buffer per weight, streamed shard by shard from the package (never
 * the whole model in JS memory), usable by our kernels and bound to ORT graphs as inputs. A weight the package
 * stores as row parts (manifest weightSplits, src/protocol/weight-parts.ts) is one buffer per part: `rowParts`
 * gives a kernel the parts with their first rows, the ORT graphs bind the parts by name.
 */
import { ORT_USAGE } from '../gpu/gpu-buffers';
import type { GpuContext } from '../gpu/gpu-context';
import type { PackageSource } from '../protocol/package-source';
import { SarashinaError } from '../protocol/errors';
import type { PackageManifest, WeightDtype, WeightLayout } from '../protocol/manifest';
import type { WeightSplit } from '../protocol/weight-parts';

export interface GpuWeight {
  readonly name: string;
  readonly buffer: GPUBuffer;
  readonly dtype: WeightDtype;
  readonly shape: readonly number[];
  readonly layout: WeightLayout;
  readonly sizeBytes: number;
}

/** One row part of a weight on the GPU: rows [firstRow, firstRow + rows) of the whole weight. */
export interface GpuRowPart {
  readonly weight: GpuWeight;
  readonly firstRow: number;
  readonly rows: number;
}

export interface UploadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

export interface UploadOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: UploadProgress) => void;
}

interface Piece {
  readonly weight: GpuWeight;
  /** Where the piece starts in the shard and in the weight. */
  readonly shardOffset: number;
  readonly weightOffset: number;
  readonly sizeBytes: number;
}

export class ModelWeights {
  private disposed = false;

  private constructor(
    private readonly weights: ReadonlyMap<string, GpuWeight>,
    private readonly splits: Readonly<Record<string, WeightSplit>>,
    readonly totalBytes: number,
  ) {}

  /** Creates a buffer per manifest weight and streams every shard into them. */
  static async upload(ctx: GpuContext, manifest: PackageManifest, source: PackageSource, options: UploadOptions = {}): Promise<ModelWeights> {
    const { device } = ctx;
    const maxBinding = ctx.capabilities.maxStorageBufferBindingSize;
    const weights = new Map<string, GpuWeight>();
    const byShard = new Map<string, Piece[]>();
    let totalBytes = 0;
    try {
      for (const [name, entry] of Object.entries(manifest.weights)) {
        if (entry.sizeBytes > maxBinding) {
          throw new SarashinaError(
            'gpu-limits-too-low',
            `Weight ${name} is ${entry.sizeBytes} bytes but this GPU binds at most ${maxBinding} bytes per buffer ` +
              `(maxStorageBufferBindingSize). Re-export the package with exporter 0.3.0 or later and --max-weight-part-mb ${Math.floor(maxBinding / 2 ** 20)} or less ` +
              '(it stores larger decoder weights as row parts), or use a GPU/browser with higher limits.',
            { weight: name, sizeBytes: entry.sizeBytes, limit: maxBinding },
          );
        }
        const buffer = device.createBuffer({ label: `weight:${name}`, size: Math.max(16, Math.ceil(entry.sizeBytes / 4) * 4), usage: ORT_USAGE });
        const weight: GpuWeight = { name, buffer, dtype: entry.dtype, shape: entry.shape, layout: entry.layout, sizeBytes: entry.sizeBytes };
        weights.set(name, weight);
        totalBytes += entry.sizeBytes;
        let weightOffset = 0;
        for (const part of entry.parts) {
          if (part.byteOffset % 4 !== 0 || weightOffset % 4 !== 0) {
            throw new SarashinaError('invalid-model', `Weight ${name} starts at byte ${part.byteOffset} of ${part.shard}, not 4-byte aligned. Re-export the package.`, { weight: name });
          }
          const list = byShard.get(part.shard) ?? [];
          list.push({ weight, shardOffset: part.byteOffset, weightOffset, sizeBytes: part.sizeBytes });
          byShard.set(part.shard, list);
          weightOffset += part.sizeBytes;
        }
      }
      let loaded = 0;
      let flushedAt = 0;
      for (const shard of manifest.shards) {
        const pieces = (byShard.get(shard.path) ?? []).sort((a, b) => a.shardOffset - b.shardOffset);
        await streamShard(device, await source.stream(shard.path), pieces, shard.path, async (n) => {
          loaded += n;
          options.onProgress?.({ loadedBytes: loaded, totalBytes });
          // Let the GPU drain the writes so far: the implementation's staging copies of un-flushed writes otherwise
          // pile up in host memory (a whole model's worth), which is slow to allocate and may not fit.
          if (loaded - flushedAt >= FLUSH_BYTES) {
            flushedAt = loaded;
            device.queue.submit([]);
            await device.queue.onSubmittedWorkDone();
          }
        }, options.signal);
      }
      await device.queue.onSubmittedWorkDone();
    } catch (e) {
      for (const w of weights.values()) w.buffer.destroy();
      throw e;
    }
    return new ModelWeights(weights, manifest.weightSplits, totalBytes);
  }

  get(name: string): GpuWeight {
    const w = this.weights.get(name);
    if (!w) throw new SarashinaError('invalid-model', `The package has no weight ${name}, which a graph or kernel needs. Re-export the package.`, { weight: name });
    return w;
  }

  /**
   * The row parts of weight `name` in row order: its parts when the package stores it split, else the whole weight
   * as one part (first row 0). Throws 'invalid-model' when the package has neither.
   */
  rowParts(name: string): GpuRowPart[] {
    const split = this.splits[name];
    const names = split ? split.parts : [name];
    let firstRow = 0;
    return names.map((part) => {
      const weight = this.get(part);
      const rows = weight.shape[0] ?? 1;
      firstRow += rows;
      return { weight, firstRow: firstRow - rows, rows };
    });
  }

  has(name: string): boolean {
    return this.weights.has(name);
  }

  get count(): number {
    return this.weights.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.weights.values()) w.buffer.destroy();
  }
}

/** Bytes written between waits for the GPU queue (see ModelWeights.upload). */
const FLUSH_BYTES = 256 * 1024 * 1024;

/**
 * Copies the shard's bytes into the pieces that cover them. Chunks are re-cut at 4-byte boundaries of the
 * shard (pieces start 4-aligned), and a piece's unaligned tail is padded with zeros.
 */
async function streamShard(
  device: GPUDevice,
  stream: ReadableStream<Uint8Array>,
  pieces: readonly Piece[],
  shardPath: string,
  onBytes: (n: number) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const reader = stream.getReader();
  let shardPos = 0; // shard offset of carry[0]
  let carry = new Uint8Array(0);
  let next = 0; // first piece not yet complete
  const end = pieces.reduce((m, p) => Math.max(m, p.shardOffset + p.sizeBytes), 0);
  try {
    while (next < pieces.length) {
      if (signal?.aborted) throw new SarashinaError('aborted', 'Loading the model was cancelled.');
      const { done, value } = await reader.read();
      const data = done ? carry : concat(carry, value);
      const usable = done ? data.byteLength : data.byteLength - (data.byteLength % 4);
      const chunkStart = shardPos;
      const chunkEnd = shardPos + usable;
      for (let i = next; i < pieces.length; i++) {
        const p = pieces[i] as Piece;
        if (p.shardOffset >= chunkEnd) break;
        const from = Math.max(p.shardOffset, chunkStart);
        const to = Math.min(p.shardOffset + p.sizeBytes, chunkEnd);
        if (to > from) writeAligned(device, p.weight.buffer, p.weightOffset + (from - p.shardOffset), data.subarray(from - chunkStart, to - chunkStart));
      }
      while (next < pieces.length && (pieces[next] as Piece).shardOffset + (pieces[next] as Piece).sizeBytes <= chunkEnd) next++;
      await onBytes(Math.max(0, Math.min(chunkEnd, end) - Math.min(chunkStart, end)));
      carry = data.slice(usable);
      shardPos = chunkEnd;
      if (done) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (next < pieces.length) {
    throw new SarashinaError('integrity-mismatch', `${shardPath} ended at byte ${shardPos}, before the weights the manifest places in it. Re-download the package.`, { shard: shardPath });
  }
}

function writeAligned(device: GPUDevice, buffer: GPUBuffer, offset: number, bytes: Uint8Array): void {
  if (bytes.byteLength % 4 === 0) {
    device.queue.writeBuffer(buffer, offset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return;
  }
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  device.queue.writeBuffer(buffer, offset, padded);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
