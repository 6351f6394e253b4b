/**
 * The GPU sampler: repetition penalty (sample-penalty.wgsl) and greedy / temperature / top-k / top-p sampling
 * over the full vocabulary (sample-token.wgsl), reading back only the chosen token id (4 bytes). The id also
 * stays in `tokenBuffer`, ready for the next step's embedding gather. Allocates nothing per step: the uniforms
 * are packed by field name into persistent words and rewritten in place, bind groups are cached per logits buffer.
 */
import { createStorageBuffer } from '../../src/gpu/gpu-buffers';
import { defineKernel, type KernelCache, type KernelDescriptor, type UniformFields, UniformStruct } from '../../src/gpu/kernel';
import { SarashinaError } from '../../src/protocol/errors';
import type { SamplingOptions } from '../../src/protocol/sampling-options';
import penaltyWgsl from './sample-penalty.wgsl?raw';
import tokenWgsl from './sample-token.wgsl?raw';

const TOKEN_PARAMS = new UniformStruct('Params', {
  vocab: 'u32',
  top_k: 'u32',
  seed: 'u32',
  step: 'u32',
  inv_temperature: 'f32',
  top_p: 'f32',
  greedy: 'u32',
});

const PENALTY_PARAMS = new UniformStruct('Params', {
  count: 'u32',
  vocab: 'u32',
  penalty: 'f32',
});

export const SAMPLE_TOKEN = defineKernel({
  name: 'sampler/sample-token',
  code: tokenWgsl,
  constants: ['WORKGROUP_SIZE'],
  params: TOKEN_PARAMS,
  bindings: ['logits', 'out'],
});

export const SAMPLE_PENALTY = defineKernel({
  name: 'sampler/sample-penalty',
  code: penaltyWgsl,
  constants: ['WORKGROUP_SIZE'],
  params: PENALTY_PARAMS,
  bindings: ['ids', 'logits'],
});

export interface GpuSamplerOptions {
  readonly vocab: number;
  /** Capacity of the previous-id list for the repetition penalty (distinct ids; e.g. the context budget). */
  readonly maxPreviousIds: number;
  /** Draws per dispatch (1 when decoding; the statistical test uses many). Default 1. */
  readonly maxDraws?: number;
}

const PENALTY_WORKGROUP = 64;

/**
 * One workgroup walks the whole vocabulary, so it is as large as useful: a power of two with about 16
 * tokens per invocation, at least 32, at most 1024 and the device limit (102400 tokens → 1024).
 */
export function samplerWorkgroupSize(vocab: number, maxInvocations: number): number {
  let size = 32;
  while (size < 1024 && size * 16 < vocab) size *= 2;
  while (size > maxInvocations) size /= 2;
  return size;
}

export class GpuSampler {
  /** u32 [maxDraws]: the chosen token id(s) of the last dispatch. */
  readonly tokenBuffer: GPUBuffer;
  private readonly tokenParams: GPUBuffer;
  private readonly penaltyParams: GPUBuffer;
  private readonly previousBuffer: GPUBuffer;
  private readonly readback: GPUBuffer;
  /** This step's uniform values and their packed words, rewritten in place every step. */
  private readonly tokenValues = { vocab: 0, top_k: 0, seed: 0, step: 0, inv_temperature: 1, top_p: 1, greedy: 0 };
  private readonly tokenWords = new Uint32Array(TOKEN_PARAMS.sizeBytes / 4);
  private readonly penaltyValues = { count: 0, vocab: 0, penalty: 1 };
  private readonly penaltyWords = new Uint32Array(PENALTY_PARAMS.sizeBytes / 4);
  private readonly idWord = new Uint32Array(1);
  private readonly previous = new Set<number>();
  private readonly tokenPipeline: GPUComputePipeline;
  private readonly penaltyPipeline: GPUComputePipeline;
  private readonly bindGroups = new Map<GPUBuffer, { token: GPUBindGroup; penalty: GPUBindGroup }>();
  private readonly maxDraws: number;

  constructor(
    private readonly device: GPUDevice,
    kernels: KernelCache,
    readonly options: GpuSamplerOptions,
  ) {
    this.maxDraws = options.maxDraws ?? 1;
    const uniform = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    this.tokenParams = device.createBuffer({ label: `${SAMPLE_TOKEN.name}.params`, size: TOKEN_PARAMS.sizeBytes, usage: uniform });
    this.penaltyParams = device.createBuffer({ label: `${SAMPLE_PENALTY.name}.params`, size: PENALTY_PARAMS.sizeBytes, usage: uniform });
    this.previousBuffer = createStorageBuffer(device, 'sampler.previous-ids', Math.max(1, options.maxPreviousIds) * 4);
    this.tokenBuffer = createStorageBuffer(device, 'sampler.token', this.maxDraws * 4);
    this.readback = device.createBuffer({ label: 'sampler.readback', size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const tokenWorkgroup = samplerWorkgroupSize(options.vocab, device.limits.maxComputeInvocationsPerWorkgroup);
    this.tokenPipeline = kernels.pipeline(SAMPLE_TOKEN, { constants: { WORKGROUP_SIZE: tokenWorkgroup } });
    this.penaltyPipeline = kernels.pipeline(SAMPLE_PENALTY, { constants: { WORKGROUP_SIZE: PENALTY_WORKGROUP } });
  }

  /** Adds ids to the repetition-penalty list (duplicates are ignored; the GPU list stays distinct). */
  addPreviousIds(ids: Iterable<number>): void {
    for (const id of ids) {
      if (this.previous.has(id)) continue;
      if (this.previous.size >= this.options.maxPreviousIds) {
        throw new SarashinaError(
          'context-overflow',
          `The repetition-penalty list is full (${this.options.maxPreviousIds} distinct ids). Create the sampler with a larger maxPreviousIds (the context budget).`,
          { maxPreviousIds: this.options.maxPreviousIds },
        );
      }
      this.idWord[0] = id;
      this.device.queue.writeBuffer(this.previousBuffer, this.previous.size * 4, this.idWord.buffer, 0, 4);
      this.previous.add(id);
    }
  }

  /** Clears the repetition-penalty list (a new conversation). */
  clearPreviousIds(): void {
    this.previous.clear();
  }

  /**
   * Writes this step's uniforms and records the penalty (if any; it edits `logits` in place) and the
   * sampling dispatch into `pass`. `step` seeds the PRNG together with sampling.seed. `sampling` was validated
   * once for the request (validateSamplingOptions, by the generator) and is not checked again per token.
   */
  record(pass: GPUComputePassEncoder, logits: GPUBuffer, sampling: SamplingOptions, step: number, draws = 1): void {
    const { vocab } = this.options;
    if (logits.size < vocab * 4) {
      throw new SarashinaError('internal', `sampler: the logits buffer holds ${logits.size} bytes, the vocabulary of ${vocab} needs ${vocab * 4}.`, {
        sizeBytes: logits.size,
        vocab,
      });
    }
    if (draws < 1 || draws > this.maxDraws) throw new RangeError(`sampler: draws ${draws} outside 1..${this.maxDraws}`);
    const groups = this.bindGroupsFor(logits);
    const penalty = sampling.repetitionPenalty ?? 1;
    if (penalty !== 1 && this.previous.size > 0) {
      const p = this.penaltyValues;
      p.count = this.previous.size;
      p.vocab = vocab;
      p.penalty = penalty;
      PENALTY_PARAMS.write(p, this.penaltyWords);
      this.device.queue.writeBuffer(this.penaltyParams, 0, this.penaltyWords);
      pass.setPipeline(this.penaltyPipeline);
      pass.setBindGroup(0, groups.penalty);
      pass.dispatchWorkgroups(Math.ceil(this.previous.size / PENALTY_WORKGROUP));
    }
    const greedy = sampling.temperature === 0;
    const t = this.tokenValues;
    t.vocab = vocab;
    t.top_k = sampling.topK ?? 0;
    t.seed = sampling.seed ?? 0;
    t.step = step;
    t.inv_temperature = greedy ? 1 : 1 / sampling.temperature;
    t.top_p = sampling.topP ?? 1;
    t.greedy = greedy ? 1 : 0;
    TOKEN_PARAMS.write(t, this.tokenWords);
    this.device.queue.writeBuffer(this.tokenParams, 0, this.tokenWords);
    pass.setPipeline(this.tokenPipeline);
    pass.setBindGroup(0, groups.token);
    pass.dispatchWorkgroups(draws);
  }

  /** Samples one token from `logits` (f32 [vocab] on the GPU) and returns its id (reads back 4 bytes). */
  async sample(logits: GPUBuffer, sampling: SamplingOptions, step: number): Promise<number> {
    const encoder = this.device.createCommandEncoder({ label: 'sampler' });
    const pass = encoder.beginComputePass({ label: 'sampler' });
    this.record(pass, logits, sampling, step);
    pass.end();
    encoder.copyBufferToBuffer(this.tokenBuffer, 0, this.readback, 0, 4);
    this.device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, 4);
    const id = new Uint32Array(this.readback.getMappedRange(0, 4))[0] ?? 0;
    this.readback.unmap();
    return id;
  }

  destroy(): void {
    for (const b of [this.tokenParams, this.penaltyParams, this.previousBuffer, this.tokenBuffer, this.readback]) b.destroy();
    this.bindGroups.clear();
  }

  private bindGroupsFor(logits: GPUBuffer): { token: GPUBindGroup; penalty: GPUBindGroup } {
    let groups = this.bindGroups.get(logits);
    if (!groups) {
      groups = {
        token: bindByName(this.device, SAMPLE_TOKEN, this.tokenPipeline, this.tokenParams, { logits, out: this.tokenBuffer }),
        penalty: bindByName(this.device, SAMPLE_PENALTY, this.penaltyPipeline, this.penaltyParams, { ids: this.previousBuffer, logits }),
      };
      this.bindGroups.set(logits, groups);
    }
    return groups;
  }
}

/**
 * A bind group for a kernel whose uniform buffer the caller owns and rewrites in place (KernelCache.prepare
 * writes its params once): `params` at @binding(0), every other binding by its WGSL name in descriptor order.
 */
function bindByName<F extends UniformFields, B extends string>(
  device: GPUDevice,
  kernel: KernelDescriptor<F, B>,
  pipeline: GPUComputePipeline,
  params: GPUBuffer,
  buffers: { readonly [K in B]: GPUBuffer },
): GPUBindGroup {
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: params } }];
  kernel.bindings.forEach((name, i) => entries.push({ binding: i + 1, resource: { buffer: buffers[name] } }));
  return device.createBindGroup({ label: pipeline.label, layout: pipeline.getBindGroupLayout(0), entries });
}
