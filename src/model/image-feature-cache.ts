/**
 * Image features kept on the GPU across requests, keyed by image content, so a follow-up turn about the
 * same picture skips the vision tower. Least-recently-used entries go first once the byte budget is
 * exceeded. Handles are reference-counted: a handle's release() does nothing to a cached entry, and an
 * entry evicted while a request still holds it is freed only when the last handle is released.
 */
import type { PatchGrid } from '../processor/vision-rotary';
import type { ImageFeatures, ImagePixels } from './vision-language-model';

/** Default budget: a few large images' features (a 12k-patch image at hidden 5120 is ~61 MB in f32). */
export const DEFAULT_IMAGE_FEATURE_CACHE_BYTES = 256 * 2 ** 20;

export interface ImageFeatureCacheOptions {
  /** Most bytes of features kept (GPUBuffer sizes); default DEFAULT_IMAGE_FEATURE_CACHE_BYTES. */
  readonly budgetBytes?: number;
}

interface Entry<F extends ImageFeatures> {
  readonly features: F;
  readonly sizeBytes: number;
  refs: number;
  cached: boolean;
}

/**
 * Content key of preprocessed images: lower-case hex sha256 over the grids (t, h, w as u32 each, after the
 * image count) and the f32 pixel bytes. Equal pixels and grids give equal features, whatever the source file.
 */
export async function imageContentKey(images: ImagePixels): Promise<string> {
  const header = new Uint32Array(1 + 3 * images.grids.length);
  header[0] = images.grids.length;
  images.grids.forEach((g: PatchGrid, i) => header.set([g.t, g.h, g.w], 1 + 3 * i));
  const bytes = new Uint8Array(header.byteLength + images.pixelValues.byteLength);
  bytes.set(new Uint8Array(header.buffer), 0);
  bytes.set(new Uint8Array(images.pixelValues.buffer, images.pixelValues.byteOffset, images.pixelValues.byteLength), header.byteLength);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Cache of `F` (e.g. VisionFeatures, whose extra fields handles keep). */
export class ImageFeatureCache<F extends ImageFeatures = ImageFeatures> {
  readonly budgetBytes: number;
  /** Insertion order = recency: a hit moves the entry to the end. */
  private readonly entries = new Map<string, Entry<F>>();
  private usedBytes = 0;

  constructor(options: ImageFeatureCacheOptions = {}) {
    this.budgetBytes = options.budgetBytes ?? DEFAULT_IMAGE_FEATURE_CACHE_BYTES;
  }

  /** Bytes held by cached entries. */
  get sizeBytes(): number {
    return this.usedBytes;
  }

  get count(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** A handle to the cached features of `key` (marks them recently used), or undefined. Release the handle when done. */
  get(key: string): F | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return this.handle(entry);
  }

  /**
   * Takes ownership of `features` and returns a handle to them. Evicts least-recently-used entries beyond the
   * budget; features larger than the whole budget are not cached (the handle then frees them on release).
   * If `key` is already cached, the new features are freed and a handle to the cached ones is returned.
   */
  put(key: string, features: F): F {
    const existing = this.get(key);
    if (existing) {
      features.release();
      return existing;
    }
    const entry: Entry<F> = { features, sizeBytes: features.buffer.size, refs: 0, cached: false };
    if (entry.sizeBytes <= this.budgetBytes) {
      entry.cached = true;
      this.entries.set(key, entry);
      this.usedBytes += entry.sizeBytes;
      this.evict(this.budgetBytes);
    }
    return this.handle(entry);
  }

  /** The cached features of `key`, or `encode()`'s, cached under it. */
  async getOrEncode(key: string, encode: () => Promise<F>): Promise<F> {
    return this.get(key) ?? this.put(key, await encode());
  }

  /** Drops every entry; entries still held are freed when their last handle is released. */
  clear(): void {
    this.evict(0);
  }

  private evict(limitBytes: number): void {
    for (const [key, entry] of this.entries) {
      if (this.usedBytes <= limitBytes) break;
      this.entries.delete(key);
      this.usedBytes -= entry.sizeBytes;
      entry.cached = false;
      if (entry.refs === 0) entry.features.release();
    }
  }

  private handle(entry: Entry<F>): F {
    entry.refs++;
    let released = false;
    return {
      ...entry.features,
      release: () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (!entry.cached && entry.refs === 0) entry.features.release();
      },
    };
  }
}
