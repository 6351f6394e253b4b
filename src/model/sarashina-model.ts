/**
 * One loaded Sarashina2-Vision package on the GPU (`VisionLanguageModel`): weights, ORT sessions, the
 * vision encoder, the static KV cache, the token embedder, prefill through the ORT decoder graph (in
 * chunks the adapter handles exactly) and decode through our kernels (fp32: f32 GEMV; q4f32, q4f16: int4 GEMV with
 * f32 or f16 scales, q4f16's f16 KV cache shared with the f16 prefill graph) or the ORT baseline.
 */
import { createStorageBuffer } from '../gpu/gpu-buffers';
import type { GpuContext } from '../gpu/gpu-context';
import { KernelCache } from '../gpu/kernel';
import type { PackageSource } from '../protocol/package-source';
import { floatBytes } from '../protocol/precision-dtypes';
import type { PackagePlan } from './package-plan';
import type { LoadProgress, PrecisionVariant } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { PackageManifest } from '../protocol/manifest';
import type { ModelSpec } from '../protocol/model-spec';
import { KernelDecodeStep } from './decode-step';
import { DECODER_GRAPH, type DecoderDtype, OrtDecoder, type RopeTables, uploadRopeTables } from './decoder';
import type { KernelDispatch } from '../gpu/kernel';
import { KvCache } from './kv-cache';
import { ModelWeights } from './model-weights';
import { OrtGraphSet } from './ort-graph-set';
import { prefillChunks } from './prefill-chunking';
import { TokenEmbedder, validateFeatureSpans } from './token-embedder';
import { VisionEncoder, visionPathGraphs } from './vision-encoder';
import type { DecodePath, FeatureSpan, ImageFeatures, ImagePixels, VisionLanguageModel } from './vision-language-model';

export interface SarashinaModelOptions {
  readonly signal?: AbortSignal;
  /** Weight upload progress (phase 'upload'), then one 'compile' report per ORT session set. */
  readonly onProgress?: (p: LoadProgress) => void;
}

interface Parts {
  readonly ctx: GpuContext;
  readonly manifest: PackageManifest;
  readonly weights: ModelWeights;
  readonly graphs: OrtGraphSet;
  readonly cache: KvCache;
  readonly rope: RopeTables;
  readonly logits: GPUBuffer;
  readonly embedder: TokenEmbedder;
  readonly decoder: OrtDecoder;
  readonly vision: VisionEncoder;
  readonly kernelStep: KernelDecodeStep | null;
  /** ORT decode path: the token's embedding row [hiddenSize] and its gather. */
  readonly ortRow: GPUBuffer;
  readonly ortGather: readonly KernelDispatch[];
  readonly chunkTokens: number;
  readonly decodePath: DecodePath;
}

export class SarashinaModel implements VisionLanguageModel {
  readonly manifest: PackageManifest;
  readonly spec: ModelSpec;
  readonly precision: PrecisionVariant;
  readonly contextTokens: number;
  /** The decode path in use (may differ from the requested one: see decodeStepSupport). */
  readonly decodePath: DecodePath;
  /** Prompt tokens per decoder-graph run (prefillChunkTokens of the adapter). */
  readonly prefillChunkTokens: number;
  /** Serializes GPU work: ORT sessions must not run concurrently and the buffers are shared. */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(private readonly parts: Parts) {
    this.manifest = parts.manifest;
    this.spec = parts.manifest.model;
    this.precision = parts.manifest.precision;
    this.contextTokens = parts.cache.capacityTokens;
    this.decodePath = parts.decodePath;
    this.prefillChunkTokens = parts.chunkTokens;
  }

  /** ModelWeights.upload → ORT sessions → vision encoder, KV cache, embedder, decoder, as `plan` says. */
  static async load(ctx: GpuContext, source: PackageSource, plan: PackagePlan, options: SarashinaModelOptions = {}): Promise<SarashinaModel> {
    const { signal, onProgress } = options;
    const checkAbort = (): void => {
      if (signal?.aborted) throw new SarashinaError('aborted', 'Loading the model was cancelled.');
    };
    const { manifest, contextTokens, decodePath, visionPath } = plan;
    const dtype: DecoderDtype = plan.dtypes.activation;
    const elementBytes = floatBytes(dtype);
    const spec = manifest.model;
    const t = spec.text;
    const chunkTokens = plan.prefillChunkTokens;
    const started = Date.now();
    const freers: (() => unknown)[] = [];
    try {
      checkAbort();
      const weights = await ModelWeights.upload(ctx, manifest, source, {
        ...(signal ? { signal } : {}),
        onProgress: (p) => {
          const seconds = (Date.now() - started) / 1000;
          const rate = seconds > 0 ? p.loadedBytes / seconds : 0;
          onProgress?.({
            phase: 'upload',
            loadedBytes: p.loadedBytes,
            totalBytes: p.totalBytes,
            filesDone: p.loadedBytes >= p.totalBytes ? manifest.shards.length : 0,
            filesTotal: manifest.shards.length,
            bytesPerSecond: rate,
            etaSeconds: rate > 0 ? (p.totalBytes - p.loadedBytes) / rate : null,
          });
        },
      });
      freers.push(() => weights.dispose());
      checkAbort();
      const graphs = await OrtGraphSet.create(ctx, manifest, source, weights, [DECODER_GRAPH, ...visionPathGraphs(visionPath)]);
      freers.push(() => graphs.dispose());
      onProgress?.({ phase: 'compile', loadedBytes: 1, totalBytes: 1, filesDone: 1, filesTotal: 1, bytesPerSecond: 0, etaSeconds: 0 });
      checkAbort();
      const { device } = ctx;
      const kernels = new KernelCache(device);
      const cache = await KvCache.create(device, spec, { capacityTokens: contextTokens, elementBytes: plan.kvElementBytes });
      freers.push(() => cache.dispose());
      const rope = uploadRopeTables(device, spec, contextTokens, dtype);
      const logits = createStorageBuffer(device, 'logits', t.vocabSize * 4);
      const ortRow = createStorageBuffer(device, 'decode.ort-row', t.hiddenSize * elementBytes);
      freers.push(() => [rope.cos, rope.sin, logits, ortRow].forEach((b) => b.destroy()));
      const embedder = TokenEmbedder.create(device, kernels, weights, spec, { maxRows: chunkTokens, dtype });
      freers.push(() => embedder.dispose());
      const ortGather = embedder.prepareTokenGather(ortRow);
      const decoder = new OrtDecoder(graphs, spec, cache, rope, logits);
      const kernelStep = decodePath === 'kernels' ? new KernelDecodeStep({ device, kernels, caps: ctx.capabilities, manifest, weights, cache, rope, embedder, logits }) : null;
      if (kernelStep) freers.push(() => kernelStep.dispose());
      const vision = new VisionEncoder(ctx, kernels, graphs, manifest, { path: visionPath, weights });
      // Surface shader compilation or allocation errors now, not at the first request.
      await device.queue.onSubmittedWorkDone();
      return new SarashinaModel({ ctx, manifest, weights, graphs, cache, rope, logits, embedder, decoder, vision, kernelStep, ortRow, ortGather, chunkTokens, decodePath });
    } catch (e) {
      for (const free of freers.reverse()) await free();
      throw e;
    }
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.disposed) throw new SarashinaError('invalid-request', 'The model was disposed. Load it again.');
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  encodeImages(images: ImagePixels): Promise<ImageFeatures> {
    return this.serialize(() => this.parts.vision.encode(images));
  }

  /** See VisionLanguageModel.prefill. Bad ids, positions or spans reject with SarashinaError before any GPU work. */
  prefill(ids: Int32Array, startPosition: number, spans: readonly FeatureSpan[]): Promise<GPUBuffer> {
    try {
      this.checkIds(ids);
      this.checkPositions(startPosition, ids.length);
      validateFeatureSpans(ids.length, spans, this.spec.text.hiddenSize, this.parts.decoder.dtype);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.serialize(async () => {
      const { embedder, decoder, logits, chunkTokens } = this.parts;
      for (const { start, end } of prefillChunks(ids.length, chunkTokens)) {
        const rows = embedder.embed(ids.subarray(start, end), spans, start);
        await decoder.run(rows, end - start, startPosition + start);
      }
      return logits;
    });
  }

  /** See VisionLanguageModel.decode. A position past the cache rejects with 'context-overflow'. */
  decode(tokenBuffer: GPUBuffer, position: number): Promise<GPUBuffer> {
    try {
      this.checkPositions(position, 1);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.serialize(async () => {
      const { ctx, kernelStep, embedder, ortGather, ortRow, decoder, logits } = this.parts;
      if (kernelStep) {
        kernelStep.run(tokenBuffer, position);
        return logits;
      }
      const encoder = ctx.device.createCommandEncoder({ label: 'decode.ort-embed' });
      embedder.copyTokenId(encoder, tokenBuffer);
      const pass = encoder.beginComputePass();
      for (const k of ortGather) k.record(pass);
      pass.end();
      ctx.device.queue.submit([encoder.finish()]);
      await decoder.run(ortRow, 1, position);
      return logits;
    });
  }

  private checkIds(ids: Int32Array): void {
    const vocab = this.spec.text.vocabSize;
    if (ids.length === 0) throw new SarashinaError('invalid-request', 'prefill() got no ids. Pass at least one token id.');
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] ?? -1;
      if (id < 0 || id >= vocab) {
        throw new SarashinaError('invalid-request', `Token id ${id} at index ${i} is outside the vocabulary [0, ${vocab}). Tokenize with this model's tokenizer.`, { id, index: i });
      }
    }
  }

  private checkPositions(start: number, count: number): void {
    if (!Number.isInteger(start) || start < 0) {
      throw new SarashinaError('invalid-request', `Position ${start} must be a non-negative integer.`, { position: start });
    }
    if (start + count > this.contextTokens) {
      throw new SarashinaError(
        'context-overflow',
        `Positions [${start}, ${start + count}) do not fit the KV cache of ${this.contextTokens} tokens. Shorten the conversation or prompt, lower max_tokens, or load with a larger contextTokens.`,
        { start, count, contextTokens: this.contextTokens },
      );
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.queue;
    this.disposed = true;
    const p = this.parts;
    p.kernelStep?.dispose();
    p.embedder.dispose();
    for (const b of [p.rope.cos, p.rope.sin, p.logits, p.ortRow]) b.destroy();
    p.cache.dispose();
    await p.graphs.dispose();
    p.weights.dispose();
  }
}
