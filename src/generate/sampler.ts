/**
 * The GPU sampler: repetition penalty (shaders/sample-penalty.wgsl) and greedy / temperature / top-k /
 * top-p sampling over the full vocabulary (shaders/sample-token.wgsl), reading back only the chosen
 * token id (4 bytes). The id also stays in `tokenBuffer`, ready for the next step's embedding gather.
 * Allocates nothing per step: uniforms are rewritten in place, bind groups are cached per logits buffer.
 */
import penaltyWgsl from '../../shaders/sample-penalty.wgsl?raw';
import tokenWgsl from '../../shaders/sample-token.wgsl?raw';
import { createStorageBuffer } from '../gpu/gpu-buffers';
import { bindBuffers, type KernelCache, type KernelSource } from '../gpu/kernel';
import { SarashinaError } from '../protocol/errors';
import { type SamplingOptions, validateSamplingOptions } from './sampling-options';

export const SAMPLE_PENALTY: KernelSource = { name: 'sample-penalty', code: penaltyWgsl };
export const SAMPLE_TOKEN: KernelSource = { name: 'sample-token', code: tokenWgsl };

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
  private readonly params: GPUBuffer;
  private readonly penaltyParams: GPUBuffer;
  private readonly previousBuffer: GPUBuffer;
  private readonly readback: GPUBuffer;
  private readonly words = new Uint32Array(8);
  private readonly idWord = new Uint32Array(1);
  private readonly floats = new Float32Array(this.words.buffer);
  private readonly penaltyWords = new Uint32Array(4);
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
    this.params = device.createBuffer({ label: 'sampler.params', size: 32, usage: uniform });
    this.penaltyParams = device.createBuffer({ label: 'sampler.penalty-params', size: 16, usage: uniform });
    this.previousBuffer = createStorageBuffer(device, 'sampler.previous-ids', Math.max(1, options.maxPreviousIds) * 4);
    this.tokenBuffer = createStorageBuffer(device, 'sampler.token', this.maxDraws * 4);
    this.readback = device.createBuffer({ label: 'sampler.readback', size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    this.tokenPipeline = kernels.pipeline(SAMPLE_TOKEN, { WORKGROUP_SIZE: samplerWorkgroupSize(options.vocab, device.limits.maxComputeInvocationsPerWorkgroup) });
    this.penaltyPipeline = kernels.pipeline(SAMPLE_PENALTY, { WORKGROUP_SIZE: PENALTY_WORKGROUP });
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
   * sampling dispatch into `pass`. `step` seeds the PRNG together with options.seed.
   */
  record(pass: GPUComputePassEncoder, logits: GPUBuffer, sampling: SamplingOptions, step: number, draws = 1): void {
    validateSamplingOptions(sampling);
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
      this.penaltyWords[0] = this.previous.size;
      this.penaltyWords[1] = vocab;
      new Float32Array(this.penaltyWords.buffer)[2] = penalty;
      this.device.queue.writeBuffer(this.penaltyParams, 0, this.penaltyWords.buffer, 0, 16);
      pass.setPipeline(this.penaltyPipeline);
      pass.setBindGroup(0, groups.penalty);
      pass.dispatchWorkgroups(Math.ceil(this.previous.size / PENALTY_WORKGROUP));
    }
    const greedy = sampling.temperature === 0;
    this.words[0] = vocab;
    this.words[1] = sampling.topK ?? 0;
    this.words[2] = sampling.seed ?? 0;
    this.words[3] = step >>> 0;
    this.floats[4] = greedy ? 1 : 1 / sampling.temperature;
    this.floats[5] = sampling.topP ?? 1;
    this.words[6] = greedy ? 1 : 0;
    this.words[7] = 0;
    this.device.queue.writeBuffer(this.params, 0, this.words.buffer, 0, 32);
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
    for (const b of [this.params, this.penaltyParams, this.previousBuffer, this.tokenBuffer, this.readback]) b.destroy();
    this.bindGroups.clear();
  }

  private bindGroupsFor(logits: GPUBuffer): { token: GPUBindGroup; penalty: GPUBindGroup } {
    let groups = this.bindGroups.get(logits);
    if (!groups) {
      groups = {
        token: bindBuffers(this.device, this.tokenPipeline, [this.params, logits, this.tokenBuffer]),
        penalty: bindBuffers(this.device, this.penaltyPipeline, [this.penaltyParams, this.previousBuffer, logits]),
      };
      this.bindGroups.set(logits, groups);
    }
    return groups;
  }
}
