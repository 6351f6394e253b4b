/**
 * The decoder's static KV cache: per layer one K and one V GPU buffer [1, kvHeads, capacity, headDim]
 * (BNSH; f32, or f16 for q4f16 packages, whose cache only ORT touches). The same buffers are the shared past/present of the ORT decoder graph's GroupQueryAttention
 * (prefill, ORT decode) and the cache our rope-append and decode-attention kernels read and write: one
 * copy, allocated once, never resized.
 */
import { createStorageBuffer } from '../gpu/gpu-buffers';
import type { GpuCapabilities } from '../gpu/gpu-context';
import { SarashinaError } from '../protocol/errors';
import type { ModelSpec } from '../protocol/model-spec';

/**
 * KV-cache bytes the default capacity may take. WebGPU exposes no memory size, so this is a fixed
 * budget: the full 4096-token f32 cache of the 8B model (32 layers × 8 kv heads × 128 dims) is 1 GiB.
 * Larger contexts are asked for explicitly (`contextTokens`) and fail with 'out-of-memory' if the
 * device cannot allocate them.
 */
export const DEFAULT_KV_BUDGET_BYTES = 1024 * 1024 * 1024;
/** Below this the engine cannot hold an image prompt; refuse rather than fail mid-request. */
export const MIN_CONTEXT_TOKENS = 256;

export type KvCacheLimits = Pick<GpuCapabilities, 'maxBufferSize' | 'maxStorageBufferBindingSize'>;

export interface KvCacheShape {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Bytes per element: 4 (f32 caches: fp32, q4f32) or 2 (q4f16). */
  readonly elementBytes: number;
}

export interface ContextTokensOptions {
  /** EngineOptions.contextTokens; default: as many as the budget and limits allow, up to maxPositionEmbeddings. */
  readonly requested?: number;
  readonly maxPositionEmbeddings: number;
  /** Total K + V bytes allowed for the default capacity (DEFAULT_KV_BUDGET_BYTES). */
  readonly budgetBytes?: number;
}

/** Bytes one cache position takes in one layer's K (or V) buffer. */
function bytesPerPosition(shape: KvCacheShape): number {
  return shape.kvHeads * shape.headDim * shape.elementBytes;
}

/**
 * The KV-cache capacity in tokens. A requested capacity is honoured exactly or refused: above the
 * model's maxPositionEmbeddings → 'invalid-request'; one layer buffer above the adapter's buffer limits →
 * 'gpu-limits-too-low'. The default is min(maxPositionEmbeddings, budget, limits), refused with
 * 'gpu-limits-too-low' when that is below MIN_CONTEXT_TOKENS.
 */
export function chooseContextTokens(shape: KvCacheShape, limits: KvCacheLimits, options: ContextTokensOptions): number {
  const perPosition = bytesPerPosition(shape);
  const perBufferLimit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const limitTokens = Math.floor(perBufferLimit / perPosition);
  const { requested, maxPositionEmbeddings } = options;
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1 || requested > maxPositionEmbeddings) {
      throw new SarashinaError(
        'invalid-request',
        `contextTokens ${requested} must be an integer in [1, ${maxPositionEmbeddings}] (the model's max_position_embeddings). Lower contextTokens.`,
        { contextTokens: requested, maxPositionEmbeddings },
      );
    }
    if (requested > limitTokens) {
      throw new SarashinaError(
        'gpu-limits-too-low',
        `contextTokens ${requested} needs ${requested * perPosition} bytes per KV-cache layer buffer, but this GPU allows ${perBufferLimit} ` +
          `(maxStorageBufferBindingSize / maxBufferSize). Lower contextTokens to at most ${limitTokens}.`,
        { contextTokens: requested, maxTokens: limitTokens, limitBytes: perBufferLimit },
      );
    }
    return requested;
  }
  const budgetTokens = Math.floor((options.budgetBytes ?? DEFAULT_KV_BUDGET_BYTES) / (2 * shape.layers * perPosition));
  const tokens = Math.min(maxPositionEmbeddings, limitTokens, budgetTokens);
  if (tokens < Math.min(MIN_CONTEXT_TOKENS, maxPositionEmbeddings)) {
    throw new SarashinaError(
      'gpu-limits-too-low',
      `This GPU's buffer limits leave room for only ${tokens} KV-cache tokens (at least ${MIN_CONTEXT_TOKENS} are needed). ` +
        'Use a GPU/browser with higher limits or a smaller model.',
      { maxTokens: tokens, limitBytes: perBufferLimit },
    );
  }
  return tokens;
}

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
    return new KvCache(keys, values, capacityTokens, [1, t.numKvHeads, capacityTokens, t.headDim]);
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
