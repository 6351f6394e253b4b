/**
 * The vision tower + projector at run time: preprocessed pixels → image features [N/4, H], all on the GPU, along
 * one of two paths. 'kernels' (the engine's): our WGSL tower (src/model/vision-tower.ts: patch embed, every block,
 * the merger) on the model's weight buffers, recorded into one command buffer. 'ort-baseline': the package's
 * `vision-whole` graph in one onnxruntime run (O(N²) attention memory, so small images only).
 *
 * Everything that depends on the patch count N is allocated per call and destroyed at its end, except the
 * returned features, which `release()` frees. ORT writes its output into our features buffer (a pre-allocated fetch).
 */
import type { GpuContext } from '../gpu/gpu-context';
import { createStorageBuffer } from '../gpu/gpu-buffers';
import type { KernelCache } from '../gpu/kernel';
import { gpuTensor, type OrtTensor } from '../ort/ort-runtime';
import { type PatchGrid, visionRotaryTables } from '../processor/vision-rotary';
import { SarashinaError } from '../protocol/errors';
import type { GraphName, PackageManifest } from '../protocol/manifest';
import type { ModelSpec } from '../protocol/model-spec';
import { precisionDtypes } from '../protocol/precision-dtypes';
import { visionCuSeqlens } from '../processor/vision-rotary';
import { float16Bits } from '../gpu/float16-bits';
import type { OrtGraphSet } from './ort-graph-set';
import { encodeVisionBlock, encodeVisionMerger, encodeVisionPatchEmbed, type VisionTowerContext, type VisionWeightSource, visionPatchDim, visionTowerLinearMma } from './vision-tower';
import type { ImageFeatures, ImagePixels, VisionPath } from './vision-language-model';

/** Element type of the vision activations and features: float16 in q4f16 packages, else float32. */
export type VisionDtype = 'float32' | 'float16';

/** ImageFeatures plus their element type. */
export interface VisionFeatures extends ImageFeatures {
  readonly dtype: VisionDtype;
}

export interface VisionEncoderOptions {
  /** 'kernels' (default): our WGSL tower; 'ort-baseline': the vision-whole graph. */
  readonly path?: VisionPath;
  /**
   * Largest patch count the ORT baseline accepts (its attention is O(N²) in memory). Default: the N whose
   * [heads, N, N] f32 score tensor fits in min(maxStorageBufferBindingSize, 1 GiB).
   */
  readonly maxBaselinePatches?: number;
  /** The model's weights (ModelWeights); the kernels path reads them directly. */
  readonly weights?: VisionWeightSource;
}

/** The ORT-only baseline's graph and the activation inputs it takes, in order (src/convert/graphs/vision-graphs.ts). */
export const VISION_BASELINE_GRAPH = 'vision-whole' satisfies GraphName;
const BASELINE_INPUTS = ['pixel_values', 'rotary_cos', 'rotary_sin', 'attention_bias'] as const;

/** The package graphs a vision path runs (the sessions SarashinaModel creates for it). */
/**
 * Bytes of the vision tower's widest activation buffer for `patches` patches: qkv [N, 3E], the MLP's [N, mlpDim],
 * the pixels [N, C·T·P²] or the merger's [N/4, H], counted as f32 (the widest dtype). One storage binding.
 */
export function visionWidestActivationBytes(vision: ModelSpec['vision'], patches: number): number {
  return patches * Math.max(3 * vision.embedDim, vision.mlpDim, visionPatchDim(vision), vision.outHiddenSize / vision.spatialMergeSize ** 2) * 4;
}

/**
 * The most pixels one image may have so that the tower's widest activation fits one storage binding of
 * `bindingBytes` (an image of h·w pixels has h·w / patchSize² patches per frame; the processor's resize keeps
 * h·w ≤ its pixel budget). On a 128 MiB binding the 8B tower holds 6553 patches ≈ 1.28 MP.
 */
export function visionMaxPixels(vision: ModelSpec['vision'], bindingBytes: number): number {
  return Math.floor(bindingBytes / visionWidestActivationBytes(vision, 1)) * vision.patchSize ** 2;
}

export function visionPathGraphs(path: VisionPath): GraphName[] {
  return path === 'ort-baseline' ? [VISION_BASELINE_GRAPH] : [];
}

/** The default baseline limit: [heads, N, N] f32 scores within min(maxStorageBufferBindingSize, 1 GiB). */
export function defaultMaxBaselinePatches(numHeads: number, maxStorageBufferBindingSize: number): number {
  return Math.floor(Math.sqrt(Math.min(maxStorageBufferBindingSize, 2 ** 30) / (4 * numHeads)));
}

/** Allocates a buffer of one call (freed when the call ends). */
type Scratch = (label: string, sizeBytes: number) => GPUBuffer;
/** Uploads data into a buffer of one call (freed when the call ends): floats in the activation dtype unless `asIs`. */
type Upload = (label: string, data: Float32Array | Uint32Array, asIs?: 'as-is') => GPUBuffer;

export class VisionEncoder {
  private readonly spec: ModelSpec;
  private readonly path: VisionPath;
  private readonly dtype: VisionDtype;
  private readonly maxBaselinePatches: number;
  private readonly tower: VisionTowerContext | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private live = 0;

  /**
   * `graphs` must hold vision-whole for the ORT baseline; the kernels path needs `options.weights`.
   * Throws `invalid-model` when the baseline graph is not loaded or does not take the inputs this engine feeds.
   */
  constructor(
    private readonly ctx: GpuContext,
    kernels: KernelCache,
    private readonly graphs: OrtGraphSet,
    manifest: PackageManifest,
    options: VisionEncoderOptions = {},
  ) {
    this.spec = manifest.model;
    this.path = options.path ?? 'kernels';
    this.dtype = precisionDtypes(manifest.precision).floatWeights;
    if (this.path === 'kernels') {
      if (!options.weights) throw new SarashinaError('internal', 'The kernels vision path runs the vision tower kernels, which need the model weights: pass options.weights to VisionEncoder.');
      const storage = this.dtype === 'float16' ? 'f16' : 'f32';
      this.tower = {
        kernels,
        weights: options.weights,
        vision: this.spec.vision,
        storage,
        linearMma: visionTowerLinearMma(ctx.capabilities, ctx.device.limits, storage),
        subgroupMatrix: ctx.capabilities,
      };
    } else {
      this.tower = undefined;
      checkBaselineGraph(manifest, graphs, this.dtype);
    }
    this.maxBaselinePatches = options.maxBaselinePatches ?? defaultMaxBaselinePatches(this.spec.vision.numHeads, ctx.capabilities.maxStorageBufferBindingSize);
  }

  /** GPU buffers this encoder allocated and has not freed (the features it returned count until released). */
  get liveBuffers(): number {
    return this.live;
  }

  /**
   * Image features [rows, outHiddenSize] of `images` (rows = patches / mergeSize²). Calls run one at a time.
   * Throws `invalid-request` for pixels that do not match the grids and `image-too-large` when N patches
   * do not fit the device's buffer limits (or the baseline's N² limit).
   */
  encode(images: ImagePixels): Promise<VisionFeatures> {
    const run = this.queue.then(() => this.encodeNow(images));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async encodeNow(images: ImagePixels): Promise<VisionFeatures> {
    const patches = this.validate(images);
    const v = this.spec.vision;
    const rows = patches / v.spatialMergeSize ** 2;
    const features = this.alloc('vision.image_features', rows * v.outHiddenSize * this.elementBytes);
    const call: GPUBuffer[] = [];
    const scratch: Scratch = (label, sizeBytes) => {
      const buffer = this.alloc(label, sizeBytes);
      call.push(buffer);
      return buffer;
    };
    const upload: Upload = (label, data, asIs) => {
      const bytes = data instanceof Float32Array && this.dtype === 'float16' && !asIs ? float16Bits(data) : data;
      const buffer = scratch(label, bytes.byteLength);
      this.ctx.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return buffer;
    };
    try {
      if (this.tower) this.recordTower(this.tower, images, patches, { scratch, upload }, features);
      else await this.runBaseline(images, patches, upload, features);
    } catch (e) {
      this.free(features);
      throw e;
    } finally {
      for (const buffer of call) this.free(buffer);
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.free(features);
    };
    const rowsPerImage = images.grids.map((g) => (g.t * g.h * g.w) / v.spatialMergeSize ** 2);
    return { buffer: features, rows, rowsPerImage, dtype: this.dtype, release };
  }

  /** The kernels path: patch embed, every block, the merger, one command buffer; features [N/4, H] written. */
  private recordTower(tower: VisionTowerContext, images: ImagePixels, patches: number, io: { scratch: Scratch; upload: Upload }, features: GPUBuffer): void {
    const v = this.spec.vision;
    const { device } = this.ctx;
    const { scratch, upload } = io;
    const rowBytes = (width: number, rows = patches): number => rows * width * this.elementBytes;
    const merged = patches / v.spatialMergeSize ** 2;
    const tables = visionRotaryTables(images.grids, v.embedDim / v.numHeads, v.ropeTheta, v.spatialMergeSize);
    const cuSeqlens = visionCuSeqlens(images.grids);
    const pixels = upload('vision.pixel_values', images.pixelValues);
    // The merger reuses qkv for its projected [N/4, H] and mlp for its merged [N/4, 4E]: dispatches run in order.
    const block = {
      hidden: scratch('vision.hidden', rowBytes(v.embedDim)),
      normed: scratch('vision.normed', rowBytes(v.embedDim)),
      qkv: scratch('vision.qkv', Math.max(rowBytes(3 * v.embedDim), rowBytes(v.outHiddenSize, merged))),
      attn: scratch('vision.attn', rowBytes(v.embedDim)),
      mlp: scratch('vision.mlp', Math.max(rowBytes(v.mlpDim), rowBytes(v.embedDim * v.spatialMergeSize ** 2, merged))),
      // The attention kernel's tables: f32 / u32 whatever the activations' dtype.
      cos: upload('vision.attention-cos', tables.cos, 'as-is'),
      sin: upload('vision.attention-sin', tables.sin, 'as-is'),
      cuSeqlens: upload('vision.cu-seqlens', new Uint32Array(cuSeqlens)),
    };
    const encoder = device.createCommandEncoder({ label: 'vision-tower' });
    const pass = encoder.beginComputePass({ label: 'vision-tower' });
    const uniforms: { destroy(): void }[] = [];
    try {
      uniforms.push(...encodeVisionPatchEmbed(tower, pass, { pixels, hidden: block.hidden }, patches));
      for (let b = 0; b < v.depth; b++) uniforms.push(...encodeVisionBlock(tower, pass, b, block, cuSeqlens));
      uniforms.push(...encodeVisionMerger(tower, pass, { hidden: block.hidden, normed: block.normed, merged: block.mlp, projected: block.qkv, features }, patches));
      pass.end();
      device.queue.submit([encoder.finish()]);
    } finally {
      // Destroying after submit is safe: WebGPU frees the memory once the submitted work is done.
      for (const u of uniforms) u.destroy();
    }
  }

  /** The ORT baseline: vision-whole with the pixels, its 2-D RoPE tables and the block-diagonal mask. */
  private async runBaseline(images: ImagePixels, patches: number, upload: Upload, features: GPUBuffer): Promise<void> {
    const v = this.spec.vision;
    const half = v.embedDim / v.numHeads / 2;
    const tables = visionRotaryTables(images.grids, 2 * half, v.ropeTheta, v.spatialMergeSize);
    const tensor = (buffer: GPUBuffer, dims: readonly number[]): OrtTensor => gpuTensor(this.graphs.ort, buffer, this.dtype, dims);
    const feeds: Record<(typeof BASELINE_INPUTS)[number], OrtTensor> = {
      pixel_values: tensor(upload('vision.pixel_values', images.pixelValues), [patches, visionPatchDim(v)]),
      rotary_cos: tensor(upload('vision.rotary_cos', tables.cos), [patches, half]),
      rotary_sin: tensor(upload('vision.rotary_sin', tables.sin), [patches, half]),
      attention_bias: tensor(upload('vision.attention_bias', blockDiagonalBias(images.grids, patches, this.dtype)), [patches, patches]),
    };
    await this.graphs.run(VISION_BASELINE_GRAPH, feeds, { fetches: { image_features: tensor(features, [patches / v.spatialMergeSize ** 2, v.outHiddenSize]) } });
  }

  /** Checks pixels against grids and N against the limits; returns N. */
  private validate(images: ImagePixels): number {
    const v = this.spec.vision;
    const merge = v.spatialMergeSize;
    if (images.grids.length === 0) throw new SarashinaError('invalid-request', 'encode() got no images (grids is empty). Pass at least one preprocessed image.');
    for (const [i, g] of images.grids.entries()) {
      const ok = [g.t, g.h, g.w].every((d) => Number.isInteger(d) && d > 0) && g.h % merge === 0 && g.w % merge === 0;
      if (!ok) {
        throw new SarashinaError(
          'invalid-request',
          `Image ${i} has patch grid t=${g.t} h=${g.h} w=${g.w}; t, h and w must be positive integers and h, w multiples of ${merge}. Preprocess the image with preprocessImages.`,
          { image: i, t: g.t, h: g.h, w: g.w },
        );
      }
    }
    const patches = images.grids.reduce((n, g) => n + g.t * g.h * g.w, 0);
    const patchDim = visionPatchDim(v);
    if (images.pixelValues.length !== patches * patchDim) {
      throw new SarashinaError(
        'invalid-request',
        `pixelValues holds ${images.pixelValues.length} floats, but the grids describe ${patches} patches of ${patchDim} (${patches * patchDim}). Pass the pixels and grids preprocessImages returned together.`,
        { floats: images.pixelValues.length, patches, patchDim },
      );
    }
    const widest = visionWidestActivationBytes(v, patches);
    const limit = this.ctx.capabilities.maxStorageBufferBindingSize;
    if (widest > limit) {
      throw new SarashinaError(
        'image-too-large',
        `${patches} image patches need a ${widest}-byte activation buffer, over this GPU's ${limit}-byte binding limit. Send fewer or smaller images (lower maxPixels).`,
        { patches, sizeBytes: widest, limitBytes: limit },
      );
    }
    if (this.path === 'ort-baseline' && patches > this.maxBaselinePatches) {
      throw new SarashinaError(
        'image-too-large',
        `The ORT-only vision baseline holds an N×N attention matrix and accepts at most ${this.maxBaselinePatches} patches; these images have ${patches}. Use the default vision path ('kernels'), or send fewer or smaller images.`,
        { patches, maxPatches: this.maxBaselinePatches },
      );
    }
    return patches;
  }

  private get elementBytes(): number {
    return this.dtype === 'float16' ? 2 : 4;
  }

  /** Allocation with the live count. */
  private alloc(label: string, sizeBytes: number): GPUBuffer {
    this.live++;
    return createStorageBuffer(this.ctx.device, label, sizeBytes);
  }

  private free(buffer: GPUBuffer): void {
    this.live--;
    buffer.destroy();
  }
}

/** The baseline graph must be loaded and take exactly the inputs runBaseline feeds, in `dtype`. */
function checkBaselineGraph(manifest: PackageManifest, graphs: OrtGraphSet, dtype: VisionDtype): void {
  const entry = manifest.graphs.find((g) => g.name === VISION_BASELINE_GRAPH);
  if (!entry || !graphs.has(VISION_BASELINE_GRAPH)) {
    throw new SarashinaError('invalid-model', `The ORT vision baseline needs graph ${VISION_BASELINE_GRAPH}, which is not loaded. Re-export the package or load the graph.`, { graph: VISION_BASELINE_GRAPH });
  }
  const has = entry.inputs.map((i) => `${i.name}: ${i.dtype}`).join(', ');
  const want = BASELINE_INPUTS.map((name) => `${name}: ${dtype}`).join(', ');
  if (has !== want) {
    throw new SarashinaError('invalid-model', `Graph ${VISION_BASELINE_GRAPH} takes (${has}); this engine feeds (${want}). Re-export the package with a matching exporter.`, { graph: VISION_BASELINE_GRAPH });
  }
}

/** [N, N] additive mask: 0 within each image's frames (its attention block), a large negative value elsewhere. */
function blockDiagonalBias(grids: readonly PatchGrid[], patches: number, dtype: VisionDtype): Float32Array {
  // f16's most negative finite value: exp() of it is 0 in either type, and it stays finite in f16.
  const off = dtype === 'float16' ? -65504 : -1e30;
  const bias = new Float32Array(patches * patches).fill(off);
  const cu = visionCuSeqlens(grids);
  for (let b = 0; b + 1 < cu.length; b++) {
    const [start, end] = [cu[b] ?? 0, cu[b + 1] ?? 0];
    for (let i = start; i < end; i++) bias.fill(0, i * patches + start, i * patches + end);
  }
  return bias;
}
