/**
 * The engine's own decode step (S = 1) in our WGSL kernels, on the weights and KV cache the ORT graph
 * uses: gather → per layer [RMSNorm → q/k/v GEMV → RoPE + cache append → decode attention →
 * o GEMV (+ residual) → RMSNorm → gate/up GEMV + SwiGLU → down GEMV (+ residual)] → final RMSNorm →
 * lm_head GEMV → logits. Every dispatch is prepared once; a step writes the position uniform and records
 * one command buffer with one compute pass, allocating no GPU objects besides the encoder.
 * With int4 linears each RMSNorm is fused into the GEMVs that read it (they normalize x themselves; the norm
 * weights are copied once behind the residual stream in the `hidden` buffer, so x and the weight are one binding)
 * and q, k, v are one dispatch; RoPE, the KV-cache append and the merge of the attention chunks run inside
 * the one decode-attention dispatch, so a layer is 5 dispatches: qkv, attention, o, gate/up, down.
 *
 * Covers packages whose decoder linears are f32 matrices (fp32: f32 GEMV) or int4 with f32 scales (q4f32:
 * int4 GEMV) and whose norms and KV cache are f32. `decodeStepSupport` says why another package (q4f16)
 * is not covered; those decode through ORT.
 */
import { DecodeAttention, prepareDecodeAttention } from '../../shaders/decoder/decode-attention/decode-attention';
import { DecodeStepUniform } from '../../shaders/decoder/decode-attention/decode-step-uniform';
import { prepareF32Gemv } from '../../shaders/decoder/f32-gemv/f32-gemv';
import { chooseGemvVariant, type GemvEpilogue, type GemvShape, prepareInt4Gemv } from '../../shaders/decoder/int4-gemv/int4-gemv';
import { prepareRmsNorm } from '../../shaders/decoder/rms-norm/rms-norm';
import { createStorageBuffer } from '../gpu/gpu-buffers';
import type { GpuCapabilities } from '../gpu/gpu-context';
import type { KernelCache, KernelDispatch } from '../gpu/kernel';
import type { PackageManifest } from '../protocol/manifest';
import type { RopeTables } from './decoder';
import type { KvCache } from './kv-cache';
import type { ModelWeights } from './model-weights';
import type { TokenEmbedder } from './token-embedder';

/** null when our kernels can decode this package, else the reason they cannot. */
export function decodeStepSupport(manifest: PackageManifest): string | null {
  if (manifest.precision === 'q4f16') return 'q4f16 runs f16 activations and an f16 KV cache; the WGSL step keeps f32 ones';
  const t = manifest.model.text;
  const linears = ['llm.lm_head.weight'];
  for (let l = 0; l < t.numLayers; l++) {
    for (const suffix of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']) linears.push(`llm.model.layers.${l}.${suffix}.weight`);
    const norm = manifest.weights[`llm.model.layers.${l}.input_layernorm.weight`];
    if (norm?.dtype !== 'float32') return `llm.model.layers.${l}.input_layernorm.weight is not f32 (the WGSL step keeps f32 activations and caches)`;
  }
  for (const name of linears) if (linearKind(manifest, name) === null) return `${name} is neither an f32 matrix nor int4 with f32 scales`;
  return null;
}

/** How the step multiplies by a decoder linear: 'f32' (row-major f32), 'int4' (MatMulNBits, f32 scales), or null. */
function linearKind(manifest: PackageManifest, name: string): 'f32' | 'int4' | null {
  const w = manifest.weights[name];
  if (w?.layout === 'row-major' && w.dtype === 'float32') return 'f32';
  if (w?.layout === 'matmulnbits-q4-b32' && manifest.weights[`${name}.scales`]?.dtype === 'float32') return 'int4';
  return null;
}

export interface DecodeStepParts {
  readonly device: GPUDevice;
  readonly kernels: KernelCache;
  readonly caps: GpuCapabilities;
  readonly manifest: PackageManifest;
  readonly weights: ModelWeights;
  readonly cache: KvCache;
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
    const { device, kernels, caps, manifest, weights, cache, rope, embedder, logits } = parts;
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
    // The residual stream [H], then every RMSNorm weight [H] (input and post-attention per layer, final), read by
    // the GEMVs that fuse the norm: copied once here, from weights the ORT graph keeps using.
    const normNames = [
      ...Array.from({ length: t.numLayers }, (_, l) => [`llm.model.layers.${l}.input_layernorm.weight`, `llm.model.layers.${l}.post_attention_layernorm.weight`]).flat(),
      'llm.model.norm.weight',
    ];
    const hidden = buffer('hidden', H * (1 + normNames.length));
    const normOffset = new Map(normNames.map((name, i) => [name, H * (1 + i)]));
    const copies = device.createCommandEncoder({ label: 'decode-step.norm-weights' });
    for (const name of normNames) copies.copyBufferToBuffer(weights.get(name).buffer, 0, hidden, (normOffset.get(name) ?? 0) * 4, H * 4);
    device.queue.submit([copies.finish()]);
    const normed = buffer('normed', H);
    const qkv = buffer('qkv', qDim + 2 * kvDim);
    const attn = buffer('attn', qDim);
    const act = buffer('act', t.intermediateSize);
    const w = (name: string): GPUBuffer => weights.get(name).buffer;
    const gemv = (x: GPUBuffer, y: GPUBuffer, name: string, shape: GemvShape & { epilogue: GemvEpilogue }, up?: string): KernelDispatch =>
      linearKind(manifest, name) === 'f32'
        ? prepareF32Gemv(kernels, { x, y, weight: w(name), ...(up ? { weight2: w(up) } : {}) }, shape)
        : prepareInt4Gemv(
            kernels,
            { x, y, qweight: w(name), scales: w(`${name}.scales`), ...(up ? { qweight2: w(up), scales2: w(`${up}.scales`) } : {}) },
            shape,
            chooseGemvVariant(caps, shape),
          );
    const norm = (name: string): KernelDispatch => prepareRmsNorm(kernels, { x: hidden, weight: w(name), y: normed }, { rows: 1, dim: H, eps: t.rmsNormEps });
    const add = this.dispatches.push.bind(this.dispatches);
    /**
     * GEMVs of RMSNorm(hidden) with the norm weight `normName`: int4 GEMVs fuse the norm (x = hidden; three stores
     * into one qkv buffer become one 'store3' dispatch when the row counts allow); any f32 linear among them gets
     * the separate norm dispatch into `normed` first, and all then read `normed`.
     */
    const normedGemvs = (normName: string, list: { name: string; y: GPUBuffer; shape: GemvShape & { epilogue: GemvEpilogue }; up?: string }[]): void => {
      const fused = list.every((g) => linearKind(manifest, g.name) === 'int4');
      if (!fused) {
        add(norm(normName));
        for (const g of list) add(gemv(normed, g.y, g.name, g.shape, g.up));
        return;
      }
      const norm_ = { eps: t.rmsNormEps, weightOffset: normOffset.get(normName) ?? 0 };
      const [a, b, c] = list;
      if (list.length === 3 && a && b && c) {
        const shape: GemvShape = { n: a.shape.n + b.shape.n + c.shape.n, k: H, epilogue: 'store3', stacked: [a.shape.n, b.shape.n], yOffset: a.shape.yOffset ?? 0, norm: norm_ };
        const variant = chooseGemvVariant(caps, shape);
        if (a.shape.n % variant.rows === 0 && b.shape.n % variant.rows === 0) {
          const buffers = {
            x: hidden,
            y: a.y,
            qweight: w(a.name),
            scales: w(`${a.name}.scales`),
            qweight2: w(b.name),
            scales2: w(`${b.name}.scales`),
            qweight3: w(c.name),
            scales3: w(`${c.name}.scales`),
          };
          add(prepareInt4Gemv(kernels, buffers, shape, variant));
          return;
        }
      }
      for (const g of list) {
        const shape: GemvShape = { ...g.shape, norm: norm_ };
        const up = g.up;
        add(
          prepareInt4Gemv(
            kernels,
            { x: hidden, y: g.y, qweight: w(g.name), scales: w(`${g.name}.scales`), ...(up ? { qweight2: w(up), scales2: w(`${up}.scales`) } : {}) },
            shape,
            chooseGemvVariant(caps, shape),
          ),
        );
      }
    };

    add(embedder.prepareTokenGather(hidden));
    for (let l = 0; l < t.numLayers; l++) {
      const p = `llm.model.layers.${l}`;
      normedGemvs(`${p}.input_layernorm.weight`, [
        { name: `${p}.self_attn.q_proj.weight`, y: qkv, shape: { n: qDim, k: H, epilogue: 'store', yOffset: 0 } },
        { name: `${p}.self_attn.k_proj.weight`, y: qkv, shape: { n: kvDim, k: H, epilogue: 'store', yOffset: qDim } },
        { name: `${p}.self_attn.v_proj.weight`, y: qkv, shape: { n: kvDim, k: H, epilogue: 'store', yOffset: qDim + kvDim } },
      ]);
      const kCache = cache.keys[l] as GPUBuffer;
      const vCache = cache.values[l] as GPUBuffer;
      // RoPE, the cache append and the chunk merge run inside the attention kernel (one dispatch).
      const shape = { heads: t.numHeads, kvHeads: t.numKvHeads, headDim: t.headDim, maxLen: cache.capacityTokens, qOffset: 0, kOffset: qDim, vOffset: qDim + kvDim };
      add(prepareDecodeAttention(kernels, { qkv, step: this.step.buffer, kCache, vCache, cos: rope.cos, sin: rope.sin, out: attn }, shape));
      add(gemv(attn, hidden, `${p}.self_attn.o_proj.weight`, { n: H, k: qDim, epilogue: 'add' }));
      normedGemvs(`${p}.post_attention_layernorm.weight`, [
        { name: `${p}.mlp.gate_proj.weight`, y: act, shape: { n: t.intermediateSize, k: H, epilogue: 'swiglu' }, up: `${p}.mlp.up_proj.weight` },
      ]);
      add(gemv(act, hidden, `${p}.mlp.down_proj.weight`, { n: H, k: t.intermediateSize, epilogue: 'add' }));
    }
    normedGemvs('llm.model.norm.weight', [{ name: 'llm.lm_head.weight', y: logits, shape: { n: t.vocabSize, k: H, epilogue: 'store' } }]);
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
