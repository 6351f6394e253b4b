/**
 * ONNX graphs built in code and serialized to ModelProto bytes (onnx.proto3 field numbers).
 * Used by the exporter for every model graph and by tests for tiny graphs; pure, no onnxruntime.
 */
import { ProtobufWriter } from './protobuf-writer';

/** TensorProto.DataType values. */
export const OnnxType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  uint32: 12,
  bfloat16: 16,
} as const;
export type OnnxTypeName = keyof typeof OnnxType;

/** A dimension: a fixed size or a symbolic name (dynamic). */
export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly type: OnnxTypeName;
  readonly shape: readonly Dim[];
}

export type AttributeValue = number | string | readonly number[] | readonly string[] | { readonly float: number } | { readonly floats: readonly number[] };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface Initializer {
  readonly name: string;
  readonly type: OnnxTypeName;
  readonly dims: readonly number[];
  readonly data: ArrayBufferView;
}

export interface OnnxGraph {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly nodes: readonly OnnxNode[];
  readonly initializers?: readonly Initializer[];
  /** Opset per domain; '' (ai.onnx) defaults to 21, 'com.microsoft' to 1. */
  readonly opsets?: Readonly<Record<string, number>>;
  readonly docString?: string;
}

const IR_VERSION = 10;

/** Serializes a graph as an ONNX ModelProto. */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const opsets: Record<string, number> = { '': 21, ...graph.opsets };
  if (graph.nodes.some((n) => n.domain === 'com.microsoft')) opsets['com.microsoft'] ??= 1;
  const w = new ProtobufWriter();
  w.varint(1, IR_VERSION);
  w.string(2, 'sarashina-webgpu');
  w.string(3, '0.1.0');
  w.message(7, (g) => writeGraph(g, graph));
  for (const [domain, version] of Object.entries(opsets)) {
    w.message(8, (o) => {
      o.string(1, domain);
      o.varint(2, version);
    });
  }
  return w.finish();
}

function writeGraph(w: ProtobufWriter, graph: OnnxGraph): void {
  graph.nodes.forEach((node, i) => w.message(1, (n) => writeNode(n, node, i)));
  w.string(2, graph.name);
  for (const init of graph.initializers ?? []) w.message(5, (t) => writeTensor(t, init));
  if (graph.docString) w.string(10, graph.docString);
  for (const v of graph.inputs) w.message(11, (x) => writeValueInfo(x, v));
  for (const v of graph.outputs) w.message(12, (x) => writeValueInfo(x, v));
}

function writeNode(w: ProtobufWriter, node: OnnxNode, index: number): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name ?? `${node.op}_${index}`);
  w.string(4, node.op);
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, (a) => writeAttribute(a, name, value));
  if (node.domain) w.string(7, node.domain);
}

const enum AttributeType {
  Float = 1,
  Int = 2,
  String = 3,
  Floats = 6,
  Ints = 7,
  Strings = 8,
}

function writeAttribute(w: ProtobufWriter, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`attribute ${name}: integers only; use { float: ${value} } for a float`);
    w.varint(3, value).varint(20, AttributeType.Int);
  } else if (typeof value === 'string') {
    w.string(4, value).varint(20, AttributeType.String);
  } else if ('float' in value) {
    w.float(2, value.float).varint(20, AttributeType.Float);
  } else if ('floats' in value) {
    for (const f of value.floats) w.float(7, f);
    w.varint(20, AttributeType.Floats);
  } else if (value.every((v): v is string => typeof v === 'string')) {
    for (const s of value) w.string(9, s);
    w.varint(20, AttributeType.Strings);
  } else {
    for (const v of value as readonly number[]) w.varint(8, v);
    w.varint(20, AttributeType.Ints);
  }
}

function writeValueInfo(w: ProtobufWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.varint(1, OnnxType[v.type]);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function writeTensor(w: ProtobufWriter, t: Initializer): void {
  w.packedVarints(1, t.dims);
  w.varint(2, OnnxType[t.type]);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}
