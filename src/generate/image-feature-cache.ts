/**
 * Image features by content key, least recently used evicted first. Owns the GPU buffers it holds: an
 * evicted or cleared entry is released.
 */
import type { ImageFeatures } from '../model/vision-language-model';

export class ImageFeatureCache {
  private readonly entries = new Map<string, ImageFeatures>();

  /** `capacity`: how many images' features stay on the GPU (each is rows × hiddenSize f32). */
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The features for `key`, marked most recently used; undefined when not cached. */
  get(key: string): ImageFeatures | undefined {
    const features = this.entries.get(key);
    if (features) {
      this.entries.delete(key);
      this.entries.set(key, features);
    }
    return features;
  }

  /**
   * Stores `features` under `key`, evicting the least recently used entries not in `keep` (the images of
   * the request being run) while over capacity.
   */
  set(key: string, features: ImageFeatures, keep: ReadonlySet<string> = new Set()): void {
    const old = this.entries.get(key);
    if (old && old !== features) old.release();
    this.entries.delete(key);
    this.entries.set(key, features);
    for (const [k, f] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      if (k === key || keep.has(k)) continue;
      this.entries.delete(k);
      f.release();
    }
  }

  clear(): void {
    for (const f of this.entries.values()) f.release();
    this.entries.clear();
  }
}
