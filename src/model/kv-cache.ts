/**
 * The decoder's static KV cache: per layer one K and one V GPU buffer [1, kvHeads, capacity, headDim]
 * (BNSH; f32, or f16 for q4f16 packages). The same buffers are the shared past/present of the ORT decoder graph's GroupQueryAttention
 * (prefill, ORT decode) and the cache our rope-append and decode-attention kernels read and write: one
 * copy, allocated once, never resized. Its capacity is the plan's (chooseVariant in package-plan.ts: the model's
 * maximum within the memory budget and the binding limits); its size is kvCacheBytes (memory-estimate.ts).
 */
import { createStorageBuffer } from '../gpu/gpu-buffers';
import { SarashinaError } from '../protocol/errors';
import type { ModelSpec } from '../protocol/model-spec';

export interface KvCacheOptions {
  readonly capacityTokens: number;
  readonly elementBytes: number;
}

export class KvCache {
  private disposed = false;

  private constructor(
    readonly keys: readonly GPUBuffer[],
    readonly values: readonly GPUBuffer[],
    readonly capacityTokens: number,
    /** [1, kvHeads, capacity, headDim]: the ORT tensor dims. */
    readonly dims: readonly number[],
    /** Bytes per element: 4 (f32) or 2 (f16). */
    readonly elementBytes: number,
  ) {}

  /**
   * Allocates 2 × layers zero-filled buffers. A device that cannot allocate them → 'out-of-memory'
   * naming the size and what to lower (everything allocated so far is freed).
   */
  static async create(device: GPUDevice, spec: ModelSpec, options: KvCacheOptions): Promise<KvCache> {
    const t = spec.text;
    const { capacityTokens, elementBytes } = options;
    const sizeBytes = t.numKvHeads * capacityTokens * t.headDim * elementBytes;
    const keys: GPUBuffer[] = [];
    const values: GPUBuffer[] = [];
    device.pushErrorScope('out-of-memory');
    for (let l = 0; l < t.numLayers; l++) {
      keys.push(createStorageBuffer(device, `kv-cache.key.${l}`, sizeBytes));
      values.push(createStorageBuffer(device, `kv-cache.value.${l}`, sizeBytes));
    }
    const error = await device.popErrorScope();
    if (error) {
      for (const b of [...keys, ...values]) b.destroy();
      const totalBytes = 2 * t.numLayers * sizeBytes;
      throw new SarashinaError(
        'out-of-memory',
        `The GPU could not allocate the KV cache for ${capacityTokens} tokens (${totalBytes} bytes in ${2 * t.numLayers} buffers): ${error.message}. ` +
          'Lower contextTokens, or close other GPU-heavy tabs.',
        { contextTokens: capacityTokens, sizeBytes: totalBytes },
      );
    }
    return new KvCache(keys, values, capacityTokens, [1, t.numKvHeads, capacityTokens, t.headDim], elementBytes);
  }

  /** Total bytes of all K and V buffers. */
  get sizeBytes(): number {
    return [...this.keys, ...this.values].reduce((n, b) => n + b.size, 0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [...this.keys, ...this.values]) b.destroy();
  }
}
