/**
 * The activations and N-dependent buffers of one VisionEncoder.encode() call: named activations with a
 * best-fit pool of spare buffers, inputs built from the images (pixels, rotary tables, the baseline's mask),
 * the attention kernel's tables, and the open compute pass the tower kernels record into.
 */
import type { PatchGrid } from '../processor/vision-rotary';
import { visionRotaryTables } from '../processor/vision-rotary';
import { SarashinaError } from '../protocol/errors';
import type { TensorSignature } from '../protocol/manifest';
import type { ModelSpec } from '../protocol/model-spec';
import { float16Bits } from '../gpu/float16-bits';
import { visionCuSeqlens } from '../processor/vision-rotary';
import type { ImagePixels } from './vision-language-model';

/** Element type of the vision activations: the graphs' float type (float16 in q4f16 packages). */
export type VisionDtype = 'float32' | 'float16';

/** Where a call's buffers come from (VisionEncoder: counted allocations). */
export interface VisionBufferOwner {
  readonly device: GPUDevice;
  readonly vision: ModelSpec['vision'];
  alloc(label: string, sizeBytes: number): GPUBuffer;
  upload(label: string, data: ArrayBufferView): GPUBuffer;
  free(buffer: GPUBuffer): void;
}

/** An activation on the GPU. */
export interface Activation {
  readonly buffer: GPUBuffer;
  readonly dtype: VisionDtype;
  readonly dims: readonly number[];
}

/** The activations and N-dependent buffers of one encode() call. */
export class CallState {
  readonly values = new Map<string, Activation>();
  private readonly spare: GPUBuffer[] = [];
  private readonly pooled = new Set<GPUBuffer>();
  /** Buffers meant to outlive the call (the features); freed by destroy() unless handed over. */
  private readonly owned = new Set<GPUBuffer>();
  private tables: { cos: GPUBuffer; sin: GPUBuffer; cuSeqlens: GPUBuffer; cuSeqlensHost: number[] } | undefined;
  /** The open command encoder and compute pass of the tower kernels, and the uniforms to free after submitting. */
  private pending: { encoder: GPUCommandEncoder; pass: GPUComputePassEncoder; uniforms: GPUBuffer[] } | undefined;

  constructor(
    private readonly encoder: VisionBufferOwner,
    private readonly images: ImagePixels,
    readonly patches: number,
  ) {}

  /** The call's open compute pass (opened on first use). */
  pass(): GPUComputePassEncoder {
    this.pending ??= (() => {
      const encoder = this.encoder.device.createCommandEncoder({ label: 'vision-tower' });
      return { encoder, pass: encoder.beginComputePass({ label: 'vision-tower' }), uniforms: [] };
    })();
    return this.pending.pass;
  }

  /** Uniform buffers of recorded dispatches, destroyed once the pass is submitted. */
  own(uniforms: readonly GPUBuffer[]): void {
    if (!this.pending) {
      for (const b of uniforms) b.destroy();
      return;
    }
    this.pending.uniforms.push(...uniforms);
  }

  /** Ends and submits the open pass, if any. */
  flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    p.pass.end();
    this.encoder.device.queue.submit([p.encoder.finish()]);
    // Destroying after submit is safe: WebGPU frees the memory once the submitted work is done.
    for (const b of p.uniforms) b.destroy();
  }

  /** Activation `signature.name`, allocated on first use and kept for the call (scratch and `hidden`). */
  scratch(signature: TensorSignature): Activation {
    const have = this.values.get(signature.name);
    if (have) return have;
    const value = this.allocate(signature, 'pooled');
    this.values.set(signature.name, value);
    return value;
  }

  /** A buffer for an output of `signature`'s shape: from this call's spares, or new ('owned' ones outlive the call). */
  allocate(signature: TensorSignature, kind: 'pooled' | 'owned'): Activation {
    const dtype = floatDtype(signature);
    const dims = signature.shape.map((d) => this.dim(d));
    const sizeBytes = dims.reduce((a, b) => a * b, 1) * (dtype === 'float16' ? 2 : 4);
    if (kind === 'owned') {
      const buffer = this.encoder.alloc(`vision.${signature.name}`, sizeBytes);
      this.owned.add(buffer);
      return { buffer, dtype, dims };
    }
    // Best fit, so a wide spare (qkv) is not taken by a narrow output (hidden) while the wide one is new.
    let best = -1;
    for (const [i, b] of this.spare.entries()) if (b.size >= sizeBytes && (best < 0 || b.size < (this.spare[best]?.size ?? Infinity))) best = i;
    const buffer = best >= 0 ? this.spare.splice(best, 1)[0] : undefined;
    if (buffer) return { buffer, dtype, dims };
    const fresh = this.encoder.alloc(`vision.${signature.name}`, sizeBytes);
    this.pooled.add(fresh);
    return { buffer: fresh, dtype, dims };
  }

  /** Forgets activation `name`; its buffer becomes a spare for later outputs of this call. */
  drop(name: string): void {
    const value = this.values.get(name);
    if (!value) return;
    this.values.delete(name);
    if (this.pooled.has(value.buffer)) this.spare.push(value.buffer);
  }

  /** Builds a graph input no step produced: the pixels, or the baseline's rotary tables and attention bias. */
  provide(input: TensorSignature): Activation {
    const dtype = floatDtype(input);
    const dims = input.shape.map((d) => this.dim(d));
    const v = this.encoder.vision;
    const headDim = v.embedDim / v.numHeads;
    let data: Float32Array;
    if (input.name === 'pixel_values') data = this.images.pixelValues;
    else if (input.name === 'rotary_cos' || input.name === 'rotary_sin') {
      const t = visionRotaryTables(this.images.grids, headDim, v.ropeTheta, v.spatialMergeSize);
      data = input.name === 'rotary_cos' ? t.cos : t.sin;
    } else if (input.name === 'attention_bias') data = blockDiagonalBias(this.images.grids, this.patches, dtype);
    else throw new SarashinaError('invalid-model', `Vision graph input ${input.name} is neither produced by a step nor one the engine builds. Re-export the package.`, { input: input.name });
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new SarashinaError('invalid-model', `Vision input ${input.name} has ${data.length} values but the graph declares [${dims.join(', ')}]. Re-export the package.`, { input: input.name });
    const buffer = this.encoder.upload(`vision.${input.name}`, dtype === 'float16' ? float16Bits(data) : data);
    this.pooled.add(buffer);
    const value = { buffer, dtype, dims };
    this.values.set(input.name, value);
    return value;
  }

  /** The attention kernel's rotary tables (always f32) and block offsets, built once per call. */
  attentionTables(): { cos: GPUBuffer; sin: GPUBuffer; cuSeqlens: GPUBuffer; cuSeqlensHost: number[] } {
    if (!this.tables) {
      const v = this.encoder.vision;
      const t = visionRotaryTables(this.images.grids, v.embedDim / v.numHeads, v.ropeTheta, v.spatialMergeSize);
      const cuSeqlensHost = visionCuSeqlens(this.images.grids);
      this.tables = {
        cos: this.encoder.upload('vision.attention-cos', t.cos),
        sin: this.encoder.upload('vision.attention-sin', t.sin),
        cuSeqlens: this.encoder.upload('vision.cu-seqlens', new Uint32Array(cuSeqlensHost)),
        cuSeqlensHost,
      };
    }
    return this.tables;
  }

  private dim(d: number | string): number {
    if (typeof d === 'number') return d;
    if (d === 'patches') return this.patches;
    if (d === 'merged') return this.patches / this.encoder.vision.spatialMergeSize ** 2;
    throw new SarashinaError('invalid-model', `Vision graph dimension "${d}" is unknown to this engine (it knows patches and merged). Re-export the package.`, { dim: d });
  }

  /** The caller now owns `buffer`: destroy() leaves it alone. */
  handOver(buffer: GPUBuffer): void {
    this.owned.delete(buffer);
  }

  /** Frees every buffer of this call except those handed over. */
  destroy(): void {
    if (this.pending) {
      // An error mid-recording: drop the unsubmitted pass.
      this.pending.pass.end();
      for (const b of this.pending.uniforms) b.destroy();
      this.pending = undefined;
    }
    for (const b of this.owned) this.encoder.free(b);
    for (const b of this.pooled) this.encoder.free(b);
    if (this.tables) for (const b of [this.tables.cos, this.tables.sin, this.tables.cuSeqlens]) this.encoder.free(b);
    this.values.clear();
    this.owned.clear();
    this.pooled.clear();
    this.spare.length = 0;
  }
}

function floatDtype(signature: TensorSignature): VisionDtype {
  if (signature.dtype === 'float32' || signature.dtype === 'float16') return signature.dtype;
  throw new SarashinaError('invalid-model', `Vision tensor ${signature.name} is ${signature.dtype}; the engine handles float32 and float16 activations. Re-export the package.`, { tensor: signature.name });
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
