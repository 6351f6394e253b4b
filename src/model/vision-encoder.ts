/**
 * The vision tower + projector at run time: preprocessed pixels → image features, all on the GPU.
 *
 * The steps come from the package manifest (`pipelines.vision`, or `pipelines.visionBaseline` for the
 * ORT-only path) and run as a small dataflow over named activations: a graph step feeds each of its
 * inputs from the activation of that name and stores each output under its name (`next_hidden` → `hidden`,
 * `next_qkv` → `qkv`); the `vision-attention` kernel step reads `qkv` and writes `attn`. Inputs nobody
 * produced (pixel_values, rotary_cos/sin, attention_bias) are built from the images on first use.
 * The tower kernels (src/model/vision-tower.ts: `vision-patch-embed`, `vision-block`, `vision-merger`) read
 * `pixel_values` / `hidden`, write `hidden` / `image_features`, and record into one compute pass that is
 * submitted before the next graph step or at the end (one submit for a whole kernel-only tower).
 *
 * ORT writes every output into a buffer we own (pre-allocated fetches), so no ORT-owned buffer outlives a
 * run. Everything that depends on the patch count N is allocated per call and destroyed at its end,
 * except the returned features, which `release()` frees.
 */
import type { GpuContext } from '../gpu/gpu-context';
import { createStorageBuffer } from '../gpu/gpu-buffers';
import type { KernelCache } from '../gpu/kernel';
import { gpuTensor } from '../ort/ort-runtime';
import type { PatchGrid } from '../processor/vision-rotary';
import { SarashinaError } from '../protocol/errors';
import type { GraphEntry, PackageManifest, PipelineStep } from '../protocol/manifest';
import type { ModelSpec } from '../protocol/model-spec';
import type { Feeds, OrtGraphSet } from './ort-graph-set';
import { type Activation, CallState, type VisionDtype } from './vision-call-state';
import { encodeVisionAttention } from './vision-attention';
import { encodeVisionBlock, encodeVisionMerger, encodeVisionPatchEmbed, isVisionTowerKernel, type VisionTowerContext, type VisionWeightSource, visionPatchDim } from './vision-tower';
import type { ImageFeatures, ImagePixels, VisionPath } from './vision-language-model';

/** ImageFeatures plus their element type (float32, except float16 from a q4f16 package's graphs). */
export interface VisionFeatures extends ImageFeatures {
  readonly dtype: VisionDtype;
}

export interface VisionEncoderOptions {
  /** 'kernels' (default): ORT dense segments around our attention kernel; 'ort-baseline': the vision-whole graph. */
  readonly path?: VisionPath;
  /**
   * Largest patch count the ORT baseline accepts (its attention is O(N²) in memory). Default: the N whose
   * [heads, N, N] f32 score tensor fits in min(maxStorageBufferBindingSize, 1 GiB).
   */
  readonly maxBaselinePatches?: number;
  /** The model's weights (ModelWeights); needed when the pipeline names the tower kernels. */
  readonly weights?: VisionWeightSource;
}

/** A pipeline step with its loop variables filled in. */
export interface FlatStep {
  readonly run: 'graph' | 'kernel';
  readonly name: string;
  readonly vars: Readonly<Record<string, number>>;
}

/** Unrolls loops: each step gets the variables of its enclosing loops, then its own `vars`. */
export function flattenPipeline(steps: readonly PipelineStep[], vars: Readonly<Record<string, number>> = {}): FlatStep[] {
  const out: FlatStep[] = [];
  for (const step of steps) {
    if (step.run === 'loop') {
      for (let i = step.from; i < step.from + step.count; i++) out.push(...flattenPipeline(step.steps, { ...vars, [step.variable]: i }));
    } else {
      out.push({ run: step.run, name: step.run === 'graph' ? step.graph : step.kernel, vars: { ...vars, ...step.vars } });
    }
  }
  return out;
}

/** The default baseline limit: [heads, N, N] f32 scores within min(maxStorageBufferBindingSize, 1 GiB). */
export function defaultMaxBaselinePatches(numHeads: number, maxStorageBufferBindingSize: number): number {
  return Math.floor(Math.sqrt(Math.min(maxStorageBufferBindingSize, 2 ** 30) / (4 * numHeads)));
}


const ATTENTION_KERNEL = 'vision-attention';
const FEATURES = 'image_features';

export type { VisionDtype } from './vision-call-state';

export class VisionEncoder {
  private readonly steps: readonly FlatStep[];
  private readonly spec: ModelSpec;
  private readonly maxBaselinePatches: number;
  private readonly tower: VisionTowerContext | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private live = 0;

  /**
   * `graphs` must hold the graphs the chosen pipeline names; `kernels` is the engine's pipeline cache.
   * Throws `invalid-model` when the pipeline names a graph or kernel the package or engine lacks.
   */
  constructor(
    private readonly ctx: GpuContext,
    private readonly kernels: KernelCache,
    private readonly graphs: OrtGraphSet,
    private readonly manifest: PackageManifest,
    options: VisionEncoderOptions = {},
  ) {
    this.spec = manifest.model;
    const path = options.path ?? 'kernels';
    this.steps = flattenPipeline(path === 'kernels' ? manifest.pipelines.vision : manifest.pipelines.visionBaseline);
    const dtype: VisionDtype = manifest.precision === 'q4f16' ? 'float16' : 'float32';
    const towerSteps = this.steps.some((s) => s.run === 'kernel' && isVisionTowerKernel(s.name));
    if (towerSteps && !options.weights) {
      throw new SarashinaError('internal', `The vision pipeline (${path}) runs the vision tower kernels, which need the model weights: pass options.weights to VisionEncoder.`);
    }
    this.tower = options.weights ? { device: ctx.device, kernels, weights: options.weights, vision: this.spec.vision, storage: dtype === 'float16' ? 'f16' : 'f32' } : undefined;
    for (const step of this.steps) {
      if (step.run === 'kernel' && step.name !== ATTENTION_KERNEL && !isVisionTowerKernel(step.name)) {
        throw new SarashinaError('invalid-model', `The vision pipeline names kernel "${step.name}", which this engine does not have. Use an engine version that matches the exporter.`, { kernel: step.name });
      }
      if (step.run === 'graph' && !graphs.has(step.name)) {
        throw new SarashinaError('invalid-model', `The vision pipeline (${path}) needs graph "${step.name}", which is not loaded. Re-export the package or load all its graphs.`, { graph: step.name });
      }
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
    const call = new CallState(this, images, patches);
    let features: Activation | undefined;
    try {
      for (const step of this.steps) {
        if (step.run === 'kernel' && step.name === ATTENTION_KERNEL) this.runAttention(call);
        else if (step.run === 'kernel') this.recordTower(call, step);
        else {
          call.flush();
          await this.runGraph(call, step);
        }
      }
      call.flush();
      features = call.values.get(FEATURES);
      if (!features) throw new SarashinaError('invalid-model', `The vision pipeline produced no ${FEATURES}. Re-export the package.`);
      call.handOver(features.buffer);
    } finally {
      call.destroy();
    }
    return this.wrapFeatures(features, images.grids);
  }

  private wrapFeatures(features: Activation, grids: readonly PatchGrid[]): VisionFeatures {
    const merge = this.spec.vision.spatialMergeSize ** 2;
    const rowsPerImage = grids.map((g) => (g.t * g.h * g.w) / merge);
    const rows = features.dims[0] ?? 0;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.free(features.buffer);
    };
    if (rowsPerImage.reduce((a, b) => a + b, 0) !== rows) {
      release();
      throw new SarashinaError('invalid-model', `The vision graphs returned ${rows} feature rows for grids that need ${rowsPerImage.join(' + ')}. Re-export the package.`, { rows });
    }
    return { buffer: features.buffer, rows, rowsPerImage, dtype: features.dtype, release };
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
    const patchDim = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
    if (images.pixelValues.length !== patches * patchDim) {
      throw new SarashinaError(
        'invalid-request',
        `pixelValues holds ${images.pixelValues.length} floats, but the grids describe ${patches} patches of ${patchDim} (${patches * patchDim}). Pass the pixels and grids preprocessImages returned together.`,
        { floats: images.pixelValues.length, patches, patchDim },
      );
    }
    // The widest activation the graphs hold: qkv [N, 3E] or the MLP's [N, mlpDim], f32 at most.
    const widest = patches * Math.max(3 * v.embedDim, v.mlpDim, patchDim) * 4;
    const limit = this.ctx.capabilities.maxStorageBufferBindingSize;
    if (widest > limit) {
      throw new SarashinaError(
        'image-too-large',
        `${patches} image patches need a ${widest}-byte activation buffer, over this GPU's ${limit}-byte binding limit. Send fewer or smaller images (lower maxPixels).`,
        { patches, sizeBytes: widest, limitBytes: limit },
      );
    }
    const baseline = this.steps.some((s) => s.run === 'graph' && this.entry(s.name).inputs.some((i) => i.name === 'attention_bias'));
    if (baseline && patches > this.maxBaselinePatches) {
      throw new SarashinaError(
        'image-too-large',
        `The ORT-only vision baseline holds an N×N attention matrix and accepts at most ${this.maxBaselinePatches} patches; these images have ${patches}. Use the default vision path ('kernels'), or send fewer or smaller images.`,
        { patches, maxPatches: this.maxBaselinePatches },
      );
    }
    return patches;
  }

  private entry(graph: string): GraphEntry {
    const e = this.manifest.graphs.find((g) => g.name === graph);
    if (!e) throw new SarashinaError('invalid-model', `The package has no graph ${graph}. Re-export the package.`, { graph });
    return e;
  }

  private async runGraph(call: CallState, step: FlatStep): Promise<void> {
    const entry = this.entry(step.name);
    const feeds: Feeds = {};
    const inputs = new Set(entry.inputs.map((i) => i.name));
    for (const input of entry.inputs) {
      const value = call.values.get(input.name) ?? call.provide(input);
      if (value.dtype !== input.dtype) {
        throw new SarashinaError('invalid-model', `Graph ${step.name} wants ${input.name} as ${input.dtype}, but it is ${value.dtype}. Re-export the package.`, { graph: step.name, input: input.name });
      }
      feeds[input.name] = gpuTensor(this.graphs.ort, value.buffer, value.dtype, value.dims);
    }
    // An activation this step overwrites but does not read can lend its buffer to the output now.
    const produced = entry.outputs.map((o) => ({ signature: o, name: activationName(o.name) }));
    for (const { name } of produced) if (!inputs.has(name)) call.drop(name);
    const fetches: Feeds = {};
    const results = produced.map(({ signature, name }) => {
      const value = call.allocate(signature, name === FEATURES ? 'owned' : 'pooled');
      fetches[signature.name] = gpuTensor(this.graphs.ort, value.buffer, value.dtype, value.dims);
      return { name, value };
    });
    await this.graphs.run(step.name, feeds, { vars: step.vars, fetches });
    for (const { name, value } of results) {
      call.drop(name);
      call.values.set(name, value);
    }
  }

  /** A tower kernel step (src/model/vision-tower.ts), recorded into the call's open compute pass. */
  private recordTower(call: CallState, step: FlatStep): void {
    const tower = this.tower;
    if (!tower) throw new SarashinaError('internal', `Vision kernel ${step.name} needs the model weights.`);
    const v = this.spec.vision;
    const dtype: VisionDtype = tower.storage === 'f16' ? 'float16' : 'float32';
    const act = (name: string, shape: (number | string)[]): Activation => call.scratch({ name, dtype, shape });
    const hidden = call.values.get('hidden');
    if (step.name === 'vision-patch-embed') {
      const pixels = call.values.get('pixel_values') ?? call.provide({ name: 'pixel_values', dtype, shape: ['patches', visionPatchDim(v)] });
      const out = act('hidden', ['patches', v.embedDim]);
      call.own(encodeVisionPatchEmbed(tower, call.pass(), { pixels: pixels.buffer, hidden: out.buffer }, call.patches));
      // Later dispatches of the same pass may reuse the pixels' buffer: dispatches run in order.
      call.drop('pixel_values');
      return;
    }
    if (!hidden) throw new SarashinaError('invalid-model', `The vision pipeline runs ${step.name} before vision-patch-embed produced hidden. Re-export the package.`);
    if (step.name === 'vision-block') {
      const block = step.vars.block;
      if (block === undefined || block >= v.depth) throw new SarashinaError('invalid-model', `The vision pipeline runs vision-block for block ${block}; the tower has ${v.depth}. Re-export the package.`, { block: block ?? -1 });
      const t = call.attentionTables();
      const buffers = {
        hidden: hidden.buffer,
        normed: act('normed', ['patches', v.embedDim]).buffer,
        qkv: act('qkv', ['patches', 3 * v.embedDim]).buffer,
        attn: act('attn', ['patches', v.embedDim]).buffer,
        mlp: act('mlp', ['patches', v.mlpDim]).buffer,
        cos: t.cos,
        sin: t.sin,
        cuSeqlens: t.cuSeqlens,
      };
      call.own(encodeVisionBlock(tower, call.pass(), block, buffers, t.cuSeqlensHost));
      return;
    }
    // vision-merger
    const group = v.embedDim * v.spatialMergeSize ** 2;
    const features = call.allocate({ name: FEATURES, dtype, shape: ['merged', v.outHiddenSize] }, 'owned');
    const buffers = {
      hidden: hidden.buffer,
      normed: act('normed', ['patches', v.embedDim]).buffer,
      merged: act('merged', ['merged', group]).buffer,
      projected: act('projected', ['merged', v.outHiddenSize]).buffer,
      features: features.buffer,
    };
    call.own(encodeVisionMerger(tower, call.pass(), buffers, call.patches));
    call.values.set(FEATURES, features);
  }

  /** Our kernel: qkv → attn, cos/sin and cu_seqlens built once per call. */
  private runAttention(call: CallState): void {
    const qkv = call.values.get('qkv');
    if (!qkv) throw new SarashinaError('invalid-model', 'The vision pipeline runs the attention kernel before any graph produced qkv. Re-export the package.');
    const { embedDim, numHeads } = this.spec.vision;
    call.flush();
    call.drop('attn');
    const attn = call.allocate({ name: 'attn', dtype: qkv.dtype, shape: ['patches', embedDim] }, 'pooled');
    const tables = call.attentionTables();
    const device = this.ctx.device;
    const encoder = device.createCommandEncoder({ label: 'vision-attention' });
    const pass = encoder.beginComputePass({ label: 'vision-attention' });
    const params = encodeVisionAttention(
      device,
      this.kernels,
      pass,
      { qkv: qkv.buffer, cos: tables.cos, sin: tables.sin, cuSeqlens: tables.cuSeqlens, out: attn.buffer },
      { heads: numHeads, headDim: embedDim / numHeads, cuSeqlens: tables.cuSeqlensHost },
      { storage: qkv.dtype === 'float16' ? 'f16' : 'f32' },
    );
    pass.end();
    device.queue.submit([encoder.finish()]);
    // Destroying after submit is safe: WebGPU frees the memory once the submitted work is done.
    params.destroy();
    call.values.set('attn', attn);
  }

  /** Allocation with the live count (CallState and features go through here). */
  alloc(label: string, sizeBytes: number): GPUBuffer {
    this.live++;
    return createStorageBuffer(this.ctx.device, label, sizeBytes);
  }

  /** Uploads `data` into a new counted buffer. */
  upload(label: string, data: ArrayBufferView): GPUBuffer {
    const buffer = this.alloc(label, data.byteLength);
    this.ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  free(buffer: GPUBuffer): void {
    this.live--;
    buffer.destroy();
  }

  /** For CallState: the device. */
  get device(): GPUDevice {
    return this.ctx.device;
  }

  /** For CallState: the model's vision spec. */
  get vision(): ModelSpec['vision'] {
    return this.spec.vision;
  }
}

/** `next_hidden` → `hidden`: the block graphs' outputs become the next block's inputs. */
function activationName(output: string): string {
  return output.startsWith('next_') ? output.slice('next_'.length) : output;
}
