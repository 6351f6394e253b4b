/**
 * The engine's own decode step (S = 1) in our WGSL kernels, on the weights and KV cache the ORT graph
 * uses: gather → per layer [RMSNorm → q/k/v GEMV → RoPE + cache append → decode attention →
 * o GEMV (+ residual) → RMSNorm → gate/up GEMV + SwiGLU → down GEMV (+ residual)] → final RMSNorm →
 * lm_head GEMV → logits. Every dispatch is prepared once; a step writes the position uniform and records
 * one command buffer with one compute pass, allocating no GPU objects besides the encoder.
 * With int4 linears each RMSNorm is fused into the GEMVs that read it (they normalize x themselves; the norm
 * weights are copied once behind the residual stream in the `hidden` buffer, so x and the weight are one binding)
 * and q, k, v are one dispatch; RoPE, the KV-cache append and the merge of the attention chunks run inside
 * the one decode-attention dispatch, so a layer is 5 dispatches: qkv, attention, o, gate/up, down. A linear stored
 * as row parts (a weight over one storage binding: src/protocol/weight-parts.ts) is one GEMV per part, each writing
 * its rows of y at an offset; the embedding table's parts are one gather each.
 *
 * Covers packages whose decoder linears are f32 matrices (fp32: f32 GEMV) or int4 with f32 or f16 scales (q4f32,
 * q4f16: int4 GEMV), with f32 or f16 norm weights and an f32 or f16 KV cache. `decodeStepSupport` says why
 * another package is not covered; those decode through ORT.
 *
 * Activations are f32 in every variant, q4f16 included (its f16 is what it stores, not what the step computes in):
 * the step is bound by the bytes of weights and KV rows it reads, not by x (16 KiB at H = 4096) or the other
 * per-token vectors, so f16 activations would save almost no bandwidth, while f32 ones keep the residual stream,
 * the norms' statistics and the GEMV inputs exact to f32 instead of rounding them to f16 after every dispatch as
 * ORT's f16 graph does. What q4f16 stores in f16 is read as f16 and widened exactly: the int4 scales (the GEMV's
 * scales prelude), the embedding row (gathered to f32), the norm weights (widened once into `hidden` at
 * construction) and the KV cache (shared with ORT's f16 prefill; the step's own row is attended in f32 and appended
 * rounded to f16 once, the only rounding the step adds). So the kernels are at least as precise as ORT's f16
 * decode of the same package. The RoPE tables are f32 (the step uploads its own where the ORT graph's are f16).
 * Every f16 read is u32 words through unpack2x16float, so no kernel needs the `shader-f16` feature (the package
 * plan still requires it for q4f16: ORT's f16 prefill does).
 */
import { DecodeAttention, prepareDecodeAttention } from '../../shaders/decoder/decode-attention/decode-attention';
import { DecodeStepUniform } from '../../shaders/decoder/decode-attention/decode-step-uniform';
import { prepareEmbeddingGather } from '../../shaders/decoder/embedding-gather/embedding-gather';
import { prepareF32Gemv } from '../../shaders/decoder/f32-gemv/f32-gemv';
import { chooseGemvVariant, type GemvEpilogue, type GemvShape, type Int4ScaleDtype, prepareInt4Gemv } from '../../shaders/decoder/int4-gemv/int4-gemv';
import { prepareRmsNorm } from '../../shaders/decoder/rms-norm/rms-norm';
import { createStorageBuffer } from '../gpu/gpu-buffers';
import type { GpuCapabilities } from '../gpu/gpu-context';
import type { KernelCache, KernelDispatch } from '../gpu/kernel';
import { SarashinaError } from '../protocol/errors';
import type { PackageManifest } from '../protocol/manifest';
import { allDecoderLinears, scalesName, WEIGHTS } from '../protocol/weight-names';
import { type RopeTables, uploadRopeTables } from './decoder';
import type { KvCache } from './kv-cache';
import type { ModelWeights } from './model-weights';
import type { TokenEmbedder } from './token-embedder';

/** Every RMSNorm weight of the decoder: input and post-attention per layer, then the final norm. */
function normNames(manifest: PackageManifest): string[] {
  const layers = Array.from({ length: manifest.model.text.numLayers }, (_, l) => WEIGHTS.decoderLayer(l));
  return [...layers.flatMap((names) => [names.inputNorm, names.postAttentionNorm]), WEIGHTS.finalNorm];
}

/** null when our kernels can decode this package (fp32, q4f32, q4f16 as the exporter writes them), else the reason. */
export function decodeStepSupport(manifest: PackageManifest): string | null {
  const linears = allDecoderLinears(manifest.model);
  const kinds = linears.map((name) => linearKind(manifest, name));
  const unsupported = kinds.findIndex((k) => k === null);
  if (unsupported >= 0) return `${linears[unsupported]} is neither an f32 matrix nor int4 with f32 or f16 scales`;
  const allInt4 = kinds.every((k) => k?.kind === 'int4');
  // q, k and v share one dispatch, so its three scales bindings must be of one type: one per package.
  const scaleTypes = new Set(kinds.map((k) => (k?.kind === 'int4' ? k.scales : null)).filter((d) => d !== null));
  if (scaleTypes.size > 1) return `the int4 linears mix ${[...scaleTypes].join(' and ')} scales; the WGSL step takes one scale type per package`;
  for (const name of normNames(manifest)) {
    const dtype = manifest.weights[name]?.dtype;
    // f16 norm weights are widened into the fused-norm GEMVs' input; the separate RMSNorm kernel (f32 linears) reads f32.
    if (dtype !== 'float32' && !(dtype === 'float16' && allInt4)) return `${name} is ${dtype ?? 'missing'}; the WGSL step reads f32 norms, or f16 ones in front of int4 linears`;
  }
  return null;
}

type LinearKind = { readonly kind: 'f32' } | { readonly kind: 'int4'; readonly scales: Int4ScaleDtype };

/** One row part of a decoder linear on the GPU (the whole linear when stored whole). */
interface LinearPart {
  readonly firstRow: number;
  readonly rows: number;
  /** f32 [rows, k] or int4 codes [rows, k/32, 16]. */
  readonly weight: GPUBuffer;
  /** int4: its scales [rows, k/32]. */
  readonly scales: GPUBuffer | null;
}

/**
 * How the step multiplies by a decoder linear: row-major f32 (f32 GEMV), MatMulNBits int4 with f32 or f16 scales, or
 * null. A linear stored as row parts is read by its first part (the manifest checks that its parts are alike).
 */
function linearKind(manifest: PackageManifest, name: string): LinearKind | null {
  const first = manifest.weightSplits[name]?.parts[0] ?? name;
  const w = manifest.weights[first];
  if (w?.layout === 'row-major' && w.dtype === 'float32') return { kind: 'f32' };
  const scales = manifest.weights[scalesName(first)]?.dtype;
  if (w?.layout === 'matmulnbits-q4-b32' && (scales === 'float32' || scales === 'float16')) return { kind: 'int4', scales };
  return null;
}

export interface DecodeStepParts {
  readonly device: GPUDevice;
  readonly kernels: KernelCache;
  readonly caps: GpuCapabilities;
  readonly manifest: PackageManifest;
  readonly weights: ModelWeights;
  readonly cache: KvCache;
  /** The ORT graph's tables; f16 ones (q4f16) are replaced by f32 tables the step owns. */
  readonly rope: RopeTables;
  readonly embedder: TokenEmbedder;
  /** f32 [vocabSize], written by the lm_head GEMV. */
  readonly logits: GPUBuffer;
}

type Dispatch = KernelDispatch | DecodeAttention;

export class KernelDecodeStep {
  private readonly step: DecodeStepUniform;
  private readonly dispatches: Dispatch[] = [];
  private readonly owned: GPUBuffer[] = [];
  private disposed = false;

  constructor(private readonly parts: DecodeStepParts) {
    const { device, kernels, caps, manifest, weights, cache, embedder, logits } = parts;
    const t = manifest.model.text;
    const H = t.hiddenSize;
    const qDim = t.numHeads * t.headDim;
    const kvDim = t.numKvHeads * t.headDim;
    const buffer = (label: string, floats: number): GPUBuffer => {
      const b = createStorageBuffer(device, `decode-step.${label}`, floats * 4);
      this.owned.push(b);
      return b;
    };
    this.step = new DecodeStepUniform(device);
    const rope = parts.rope.dtype === 'float32' ? parts.rope : uploadRopeTables(device, manifest.model, cache.capacityTokens, 'float32');
    if (rope !== parts.rope) this.owned.push(rope.cos, rope.sin);
    // The residual stream [H], then every RMSNorm weight [H] (input and post-attention per layer, final), read by
    // the GEMVs that fuse the norm: copied once here as f32, from weights the ORT graph keeps using.
    const norms = normNames(manifest);
    // The int4 GEMV reads x and the fused norm's weight in whole vec4s (the lanes past K masked), so every vector it
    // reads is padded to a multiple of 4 floats and each norm weight starts on one.
    const stride = roundUp4(H);
    const hidden = buffer('hidden', stride * (1 + norms.length));
    const normOffset = new Map(norms.map((name, i) => [name, stride * (1 + i)]));
    copyNormWeights(kernels, weights, norms, hidden, H, stride);
    const normed = buffer('normed', H);
    const qkv = buffer('qkv', qDim + 2 * kvDim);
    const attn = buffer('attn', roundUp4(qDim));
    const act = buffer('act', roundUp4(t.intermediateSize));
    const kind = (name: string): LinearKind | null => linearKind(manifest, name);
    // The int4 scales' type of a linear (one per package: decodeStepSupport).
    const scaleDtype = (name: string): Int4ScaleDtype => {
      const k = kind(name);
      return k?.kind === 'int4' ? k.scales : 'float32';
    };
    /** The linear's row parts (one when stored whole); an int4 part's scales are its own (parseManifest checks their rows). */
    const linearParts = (name: string): LinearPart[] => {
      const int4 = kind(name)?.kind === 'int4';
      return weights.rowParts(name).map((c) => ({ firstRow: c.firstRow, rows: c.rows, weight: c.weight.buffer, scales: int4 ? weights.get(scalesName(c.weight.name)).buffer : null }));
    };
    /**
     * y[yOffset + rows of each part] from x, one dispatch per row part (the GEMVs write at an offset of y, so y is
     * bound whole); SwiGLU's up matrix must be cut at the gate's rows.
     */
    const gemv = (x: GPUBuffer, y: GPUBuffer, name: string, shape: GemvShape & { epilogue: GemvEpilogue }, up?: string): KernelDispatch[] => {
      const gates = linearParts(name);
      const ups = up ? linearParts(up) : null;
      if (up && ups && (ups.length !== gates.length || ups.some((u, i) => u.rows !== gates[i]?.rows))) {
        throw new SarashinaError('invalid-model', `${name} and ${up} are stored in row parts of different rows; the fused SwiGLU needs them cut alike. Re-export the package.`, { weight: name });
      }
      return gates.map((p, i) => {
        const u = ups?.[i];
        const partShape = { ...shape, n: p.rows, yOffset: (shape.yOffset ?? 0) + p.firstRow };
        if (kind(name)?.kind === 'f32') return prepareF32Gemv(kernels, { x, y, weight: p.weight, ...(u ? { weight2: u.weight } : {}) }, partShape);
        const int4Shape: GemvShape = { ...partShape, scaleDtype: scaleDtype(name) };
        const buffers = { x, y, qweight: p.weight, scales: p.scales as GPUBuffer, ...(u ? { qweight2: u.weight, scales2: u.scales as GPUBuffer } : {}) };
        return prepareInt4Gemv(kernels, buffers, int4Shape, chooseGemvVariant(caps, int4Shape));
      });
    };
    const norm = (name: string): KernelDispatch => prepareRmsNorm(kernels, { x: hidden, weight: weights.get(name).buffer, y: normed }, { rows: 1, dim: H, eps: t.rmsNormEps });
    const add = (...d: Dispatch[]): void => {
      this.dispatches.push(...d);
    };
    /**
     * GEMVs of RMSNorm(hidden) with the norm weight `normName`: int4 GEMVs fuse the norm (x = hidden; three stores
     * into one qkv buffer become one 'store3' dispatch when each is stored whole and the row counts allow); any f32
     * linear among them gets the separate norm dispatch into `normed` first, and all then read `normed`.
     */
    const normedGemvs = (normName: string, list: { name: string; y: GPUBuffer; shape: GemvShape & { epilogue: GemvEpilogue }; up?: string }[]): void => {
      const fused = list.every((g) => kind(g.name)?.kind === 'int4');
      if (!fused) {
        add(norm(normName));
        for (const g of list) add(...gemv(normed, g.y, g.name, g.shape, g.up));
        return;
      }
      const norm_ = { eps: t.rmsNormEps, weightOffset: normOffset.get(normName) ?? 0 };
      const [a, b, c] = list;
      const whole = list.map((g) => linearParts(g.name)).every((p) => p.length === 1);
      if (list.length === 3 && a && b && c && whole) {
        const shape: GemvShape = {
          n: a.shape.n + b.shape.n + c.shape.n,
          k: H,
          epilogue: 'store3',
          stacked: [a.shape.n, b.shape.n],
          yOffset: a.shape.yOffset ?? 0,
          norm: norm_,
          scaleDtype: scaleDtype(a.name),
        };
        const variant = chooseGemvVariant(caps, shape);
        if (a.shape.n % variant.rows === 0 && b.shape.n % variant.rows === 0) {
          const w = (name: string): GPUBuffer => weights.get(name).buffer;
          const buffers = {
            x: hidden,
            y: a.y,
            qweight: w(a.name),
            scales: w(scalesName(a.name)),
            qweight2: w(b.name),
            scales2: w(scalesName(b.name)),
            qweight3: w(c.name),
            scales3: w(scalesName(c.name)),
          };
          add(prepareInt4Gemv(kernels, buffers, shape, variant));
          return;
        }
      }
      for (const g of list) add(...gemv(hidden, g.y, g.name, { ...g.shape, norm: norm_ }, g.up));
    };

    add(...embedder.prepareTokenGather(hidden, 'float32'));
    for (let l = 0; l < t.numLayers; l++) {
      const names = WEIGHTS.decoderLayer(l);
      normedGemvs(names.inputNorm, [
        { name: names.q, y: qkv, shape: { n: qDim, k: H, epilogue: 'store', yOffset: 0 } },
        { name: names.k, y: qkv, shape: { n: kvDim, k: H, epilogue: 'store', yOffset: qDim } },
        { name: names.v, y: qkv, shape: { n: kvDim, k: H, epilogue: 'store', yOffset: qDim + kvDim } },
      ]);
      const kCache = cache.keys[l] as GPUBuffer;
      const vCache = cache.values[l] as GPUBuffer;
      // RoPE, the cache append and the chunk merge run inside the attention kernel (one dispatch).
      const kvDtype = cache.elementBytes === 2 ? 'float16' : 'float32';
      const shape = { heads: t.numHeads, kvHeads: t.numKvHeads, headDim: t.headDim, maxLen: cache.capacityTokens, qOffset: 0, kOffset: qDim, vOffset: qDim + kvDim, kvDtype } as const;
      add(prepareDecodeAttention(kernels, { qkv, step: this.step.buffer, kCache, vCache, cos: rope.cos, sin: rope.sin, out: attn }, shape));
      add(...gemv(attn, hidden, names.o, { n: H, k: qDim, epilogue: 'add' }));
      normedGemvs(names.postAttentionNorm, [{ name: names.gate, y: act, shape: { n: t.intermediateSize, k: H, epilogue: 'swiglu' }, up: names.up }]);
      add(...gemv(act, hidden, names.down, { n: H, k: t.intermediateSize, epilogue: 'add' }));
    }
    normedGemvs(WEIGHTS.finalNorm, [{ name: WEIGHTS.lmHead, y: logits, shape: { n: t.vocabSize, k: H, epilogue: 'store' } }]);
  }

  /**
   * Submits one step: the id in `tokenBuffer` (u32 at offset 0) at cache position `position`; the logits
   * land in the logits buffer. Queue order makes later reads see them.
   */
  run(tokenBuffer: GPUBuffer, position: number): void {
    const { device, embedder } = this.parts;
    this.step.setPosition(position);
    const encoder = device.createCommandEncoder({ label: 'decode-step' });
    embedder.copyTokenId(encoder, tokenBuffer);
    const pass = encoder.beginComputePass({ label: 'decode-step' });
    for (const d of this.dispatches) {
      if (d instanceof DecodeAttention) d.record(pass, position);
      else d.record(pass);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.dispatches) d.destroy();
    this.step.destroy();
    for (const b of this.owned) b.destroy();
  }
}

/** `n` rounded up to a multiple of 4 (whole vec4s). */
function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/**
 * Writes the norm weights `names` as f32 into `hidden` at [stride · (1 + i), stride · (1 + i) + H) and submits: f32 weights by
 * copy, f16 ones (q4f16) widened by the embedding gather's f16 → f32 rows (exact) as row 0 of a one-row table.
 */
function copyNormWeights(kernels: KernelCache, weights: ModelWeights, names: readonly string[], hidden: GPUBuffer, H: number, stride: number): void {
  const { device } = kernels;
  const encoder = device.createCommandEncoder({ label: 'decode-step.norm-weights' });
  const temporary: { destroy(): void }[] = [];
  // Created on the first f16 weight: the id 0 (zero-filled) and one f32 row, reused in order by each widening.
  let widen: { id: GPUBuffer; row: GPUBuffer } | null = null;
  for (const [i, name] of names.entries()) {
    const weight = weights.get(name);
    const offsetBytes = stride * (1 + i) * 4;
    if (weight.dtype === 'float32') {
      encoder.copyBufferToBuffer(weight.buffer, 0, hidden, offsetBytes, H * 4);
      continue;
    }
    if (!widen) {
      widen = { id: createStorageBuffer(device, 'decode-step.norm-id', 4), row: createStorageBuffer(device, 'decode-step.norm-row', H * 4) };
      temporary.push(widen.id, widen.row);
    }
    const gather = prepareEmbeddingGather(kernels, { ids: widen.id, table: weight.buffer, out: widen.row }, { kind: 'f16', out: 'f32' }, { count: 1, hidden: H, vocab: 1 });
    temporary.push(gather);
    const pass = encoder.beginComputePass({ label: 'decode-step.norm-widen' });
    gather.record(pass);
    pass.end();
    encoder.copyBufferToBuffer(widen.row, 0, hidden, offsetBytes, H * 4);
  }
  device.queue.submit([encoder.finish()]);
  // Destroying after submit is safe: the queued work keeps what it uses.
  for (const t of temporary) t.destroy();
}
