/**
 * A small builder for the exporter's ONNX graphs. Model weights are always declared as graph INPUTS
 * with a binding to the checkpoint weight they take: the engine owns the weights as GPU buffers and binds
 * them with `Tensor.fromGpuBuffer`. `embedWeights` turns the same
 * graph into one with initializers, for the ORT-only baseline and simple tests.
 */
import type { Dim, Initializer, OnnxGraph, OnnxNode, OnnxTypeName, ValueInfo, AttributeValue } from '../../ort/onnx/onnx-model';
import { SarashinaError } from '../../protocol/errors';
import { float32ToFloat16Bits } from '../quantize/float16';

/** Activation float type of a graph: f32, or f16 (needs `shader-f16` on the adapter). */
export type FloatType = 'float32' | 'float16';

/** A graph plus, for each weight input, the checkpoint weight it binds. */
export interface ModelGraph {
  readonly graph: OnnxGraph;
  /** Graph input name → weight name. */
  readonly weights: Readonly<Record<string, string>>;
}

export class GraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly weightInputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly bindings: Record<string, string> = {};
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(
    readonly name: string,
    readonly floatType: FloatType,
  ) {}

  /** Declares an activation input. */
  input(name: string, type: OnnxTypeName, shape: readonly Dim[]): string {
    this.inputs.push({ name, type, shape });
    return name;
  }

  /** Declares a weight input bound to checkpoint weight `binding`. */
  weight(name: string, type: OnnxTypeName, shape: readonly Dim[], binding: string): string {
    this.weightInputs.push({ name, type, shape });
    this.bindings[name] = binding;
    return name;
  }

  output(name: string, type: OnnxTypeName, shape: readonly Dim[]): void {
    this.outputs.push({ name, type, shape });
  }

  /** A fresh tensor name. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Adds a node; returns its first output. Missing outputs get fresh names. */
  op(op: string, inputs: readonly string[], options: { outputs?: readonly string[]; attributes?: Record<string, AttributeValue>; domain?: string; name?: string } = {}): string {
    const outputs = options.outputs ?? [this.fresh(op.toLowerCase())];
    this.nodes.push({
      op,
      inputs,
      outputs,
      ...(options.domain ? { domain: options.domain } : {}),
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.name ? { name: options.name } : {}),
    });
    return outputs[0] ?? '';
  }

  /** An int64 constant (shapes, axes), deduplicated. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.fresh('const_i64');
    this.initializers.push({ name, type: 'int64', dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    this.constants.set(key, name);
    return name;
  }

  /** A scalar constant of the graph's float type, deduplicated. */
  scalar(value: number): string {
    const key = `f:${this.floatType}:${value}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.fresh('const_f');
    const data = this.floatType === 'float32' ? new Float32Array([value]) : new Uint16Array([float32ToFloat16Bits(value)]);
    this.initializers.push({ name, type: this.floatType, dims: [], data });
    this.constants.set(key, name);
    return name;
  }

  build(docString?: string): ModelGraph {
    return {
      graph: {
        name: this.name,
        inputs: [...this.inputs, ...this.weightInputs],
        outputs: this.outputs,
        nodes: this.nodes,
        initializers: this.initializers,
        ...(docString ? { docString } : {}),
      },
      weights: { ...this.bindings },
    };
  }
}

/** The data of one weight for `embedWeights`, already in the graph input's type and shape. */
export interface EmbeddedWeight {
  readonly type: OnnxTypeName;
  readonly dims: readonly number[];
  readonly data: ArrayBufferView;
}

/** Turns weight inputs into initializers (tests). `resolve` gets the bound weight name and the input name. */
export function embedWeights(model: ModelGraph, resolve: (binding: string, inputName: string) => EmbeddedWeight): OnnxGraph {
  const { graph, weights } = model;
  const initializers: Initializer[] = [...(graph.initializers ?? [])];
  const inputs: ValueInfo[] = [];
  for (const input of graph.inputs) {
    const binding = weights[input.name];
    if (binding === undefined) {
      inputs.push(input);
      continue;
    }
    const weight = resolve(binding, input.name);
    if (weight.type !== input.type || !sameShape(weight.dims, input.shape)) {
      throw new SarashinaError(
        'internal',
        `Weight for graph input ${input.name} is ${weight.type}[${weight.dims.join(', ')}], the graph expects ${input.type}[${input.shape.join(', ')}].`,
        { input: input.name },
      );
    }
    initializers.push({ name: input.name, type: weight.type, dims: weight.dims, data: weight.data });
  }
  return { ...graph, inputs, initializers };
}

function sameShape(dims: readonly number[], shape: readonly Dim[]): boolean {
  return dims.length === shape.length && shape.every((d, i) => typeof d === 'string' || d === dims[i]);
}
