/**
 * Test harness: runs an ONNX graph in onnxruntime-web on the shared WebGPU device (strict: no CPU
 * fallback) with host arrays as inputs, and reads outputs back. Used by the exporter's tests only.
 */
import type { GpuContext } from '../gpu/gpu-context';
import { readBuffer, uploadBuffer } from '../gpu/gpu-buffers';
import { encodeOnnxModel, type OnnxGraph } from '../ort/onnx/onnx-model';
import type { ModelGraph } from '../convert/graphs/graph-builder';
import { createSession, loadOrt, type OrtModule, type OrtSession, type OrtTensor } from '../ort/ort-runtime';

export type HostData = Float32Array | Int32Array | Uint8Array | Uint16Array;

export interface HostTensor {
  readonly type: 'float32' | 'int32' | 'uint8' | 'float16';
  readonly dims: readonly number[];
  readonly data: HostData;
  /** Pass as a CPU tensor (e.g. GQA's total_sequence_length, which the kernel reads on the host). */
  readonly cpu?: boolean;
}

export class GraphHarness {
  private readonly buffers: GPUBuffer[] = [];

  private constructor(
    readonly ctx: GpuContext,
    readonly ort: OrtModule,
    readonly session: OrtSession,
  ) {}

  static create(ctx: GpuContext, graph: OnnxGraph): Promise<GraphHarness> {
    return GraphHarness.fromBytes(ctx, encodeOnnxModel(graph));
  }

  /** A harness for serialized ONNX bytes (e.g. a package's .onnx file). */
  static async fromBytes(ctx: GpuContext, model: Uint8Array): Promise<GraphHarness> {
    const ort = await loadOrt();
    const session = await createSession(ctx, model);
    return new GraphHarness(ctx, ort, session);
  }

  /** An ORT tensor holding `host` (a GPU buffer we own, unless host.cpu). */
  tensor(host: HostTensor): OrtTensor {
    if (host.cpu) {
      if (host.type === 'float16') throw new TypeError('cpu float16 tensors are not used here');
      return new this.ort.Tensor(host.type, host.data as Float32Array, host.dims);
    }
    const buffer = uploadBuffer(this.ctx.device, 'test.input', host.data);
    this.buffers.push(buffer);
    return this.ort.Tensor.fromGpuBuffer(buffer, { dataType: host.type, dims: host.dims });
  }

  /** Runs the session; feeds may be host arrays or tensors (to share buffers between runs). */
  async run(feeds: Record<string, HostTensor | OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>> {
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, value] of Object.entries(feeds)) ortFeeds[name] = value instanceof this.ort.Tensor ? value : this.tensor(value as HostTensor);
    return fetches ? this.session.run(ortFeeds, fetches) : this.session.run(ortFeeds);
  }

  /** Reads a float32 GPU (or CPU) tensor back. */
  async readFloat32(tensor: OrtTensor): Promise<Float32Array> {
    const count = tensor.dims.reduce((a, b) => a * b, 1);
    if (tensor.location === 'cpu') return new Float32Array(tensor.data as Float32Array);
    return new Float32Array(await readBuffer(this.ctx.device, tensor.gpuBuffer, count * 4));
  }

  async release(): Promise<void> {
    await this.session.release();
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}

/**
 * Host tensors for every weight input of `model`: `resolve` gets the bound weight name and the input's type,
 * and returns the data; dims come from the graph.
 */
export function weightFeeds(model: ModelGraph, resolve: (binding: string, type: HostTensor['type']) => HostData): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const input of model.graph.inputs) {
    const binding = model.weights[input.name];
    if (binding === undefined) continue;
    const type = input.type as HostTensor['type'];
    const dims = input.shape.map((d) => (typeof d === 'number' ? d : NaN));
    const data = resolve(binding, type);
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new RangeError(`weight ${binding} for ${input.name}: ${data.length} values, graph wants [${dims.join(', ')}]`);
    feeds[input.name] = { type, dims, data };
  }
  return feeds;
}
