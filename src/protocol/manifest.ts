/**
 * The model package manifest (`manifest.json`): what the exporter writes and the engine loads.
 * `parseManifest` validates it once, at load, naming the field, the expected and the actual value.
 *
 * A package holds: the model and image-processor specs (camelCase, from the HF configs), the
 * tokenizer / chat-template files, two ONNX graphs that carry topology only (PACKAGE_GRAPHS), and weight shards
 * (raw little-endian tensors, each ≤ 256 MB by default, no file over 2 GB) with every weight's byte range.
 * The engine's own kernels (vision tower, token embedding, decode step) read the weights by their checkpoint names;
 * which path runs is the engine's choice (VisionPath, DecodePath), not the package's.
 *
 * Weights. A graph takes each weight as an input; `GraphEntry.weights` maps input name → weight name. Layouts:
 *   'row-major'            a plain tensor of `shape` (linear weights keep HF's [out, in]; the vision
 *                          patch embedding is stored as [E, C·T·P·P]).
 *   'matmulnbits-q4-b32'   int4 block-32 symmetric codes, uint8 [N, ceil(K/32), 16], low nibble first,
 *                          code − 8 = q, a partial last block padded (int4-layout.ts, int4-block-quantizer.ts).
 *   'matmulnbits-scales'   its scales [N, ceil(K/32)] (float32 in q4f32, float16 in q4f16), weight name
 *                          `<name>.scales`.
 * Dtypes: fp32 stores everything float32; q4f32 stores vision weights and norms float32 and decoder
 * linears int4; q4f16 stores them float16. The embedding table (`llm.model.embed_tokens.weight`) is
 * gathered by the engine's own kernel: float32 in fp32, float16 in q4 variants (unpack2x16float works
 * without shader-f16). `llm.lm_head.weight` always exists (written from the table when tied).
 *
 * Row parts (src/protocol/weight-parts.ts): a weight larger than the exporter's part limit (default 128 MiB, the
 * storage binding every WebGPU adapter grants) is stored as row parts `<name>.part<i>`, each an ordinary weight
 * (an int4 part with its own `<name>.part<i>.scales`), and `weightSplits` maps the whole weight's name (and, for
 * int4, its scales' name) to `{ rows, parts }`; the whole name is then not a weight itself. The graphs bind the parts.
 *
 * Formats: 3 (exporter 0.3.0 on) as above. 2 (exporter 0.2.0) had no `weightSplits` (every weight whole), read as
 * format 3 with none. 1 (exporter 0.1.0) also listed the ORT-segmented vision graphs (vision-pre, vision-block,
 * vision-block-last), a projector graph and `pipelines`; its weights are the same, so it is read as format 3 with
 * those left out.
 */
import type { PrecisionVariant } from './api';
import { type JsonFields, jsonFields } from './json-fields';
import { IMAGE_PIPELINES, type ImageProcessorSpec, type ModelSpec } from './model-spec';
import { scalesName } from './weight-names';
import type { WeightSplit } from './weight-parts';

export const MANIFEST_FORMAT_VERSION = 3;
export const MANIFEST_FILE_NAME = 'manifest.json';

/**
 * The graphs a package ships: the ORT-only vision tower (VisionPath 'ort-baseline': pixels, 2-D RoPE tables and a
 * block-diagonal mask → image features) and the Llama decoder (prefill, and DecodePath 'ort-baseline').
 */
export const PACKAGE_GRAPHS = ['vision-whole', 'decoder'] as const;
export type GraphName = (typeof PACKAGE_GRAPHS)[number];

export type Precision = PrecisionVariant;
export const PRECISIONS: readonly Precision[] = ['fp32', 'q4f32', 'q4f16'];

export type WeightDtype = 'float32' | 'float16' | 'uint8';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['float32', 'float16', 'uint8'];
export type WeightLayout = 'row-major' | 'matmulnbits-q4-b32' | 'matmulnbits-scales';
export const WEIGHT_LAYOUTS: readonly WeightLayout[] = ['row-major', 'matmulnbits-q4-b32', 'matmulnbits-scales'];
export type TensorDtype = WeightDtype | 'int32' | 'int64';
const TENSOR_DTYPES: readonly TensorDtype[] = ['float32', 'float16', 'uint8', 'int32', 'int64'];

/** A file of the package, path relative to the manifest (the loader's PackageFileRef shape). */
export interface PackageFile {
  readonly path: string;
  readonly sizeBytes: number;
  /** Lower-case hex sha256 of the file's bytes. */
  readonly sha256: string;
}

/** An activation input/output of a graph; string dims are symbolic (e.g. 'patches'). */
export interface TensorSignature {
  readonly name: string;
  readonly dtype: TensorDtype;
  readonly shape: readonly (number | string)[];
}

export interface GraphEntry extends PackageFile {
  readonly name: GraphName;
  /** Non-weight inputs, in graph order. */
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
  /** Weight input name → weight name. */
  readonly weights: Readonly<Record<string, string>>;
}

/** A byte range of one shard. */
export interface ShardRange {
  readonly shard: string;
  readonly byteOffset: number;
  readonly sizeBytes: number;
}

export interface WeightEntry {
  /**
   * Where its bytes are, concatenated in order. One range, except for a weight larger than a shard
   * (e.g. an 8B embedding table), which continues at offset 0 of the following shards.
   */
  readonly parts: readonly ShardRange[];
  readonly sizeBytes: number;
  readonly dtype: WeightDtype;
  readonly shape: readonly number[];
  readonly layout: WeightLayout;
}

export interface PackageManifest {
  readonly formatVersion: typeof MANIFEST_FORMAT_VERSION;
  readonly precision: Precision;
  readonly model: ModelSpec;
  readonly imageProcessor: ImageProcessorSpec;
  /** tokenizer.json, tokenizer_config.json (and the chat template: its own file or inside tokenizer_config). */
  readonly tokenizer: { readonly tokenizer: PackageFile; readonly tokenizerConfig: PackageFile; readonly chatTemplate: PackageFile | null };
  readonly graphs: readonly GraphEntry[];
  readonly shards: readonly PackageFile[];
  readonly weights: Readonly<Record<string, WeightEntry>>;
  /** Weights stored as row parts: whole name → its rows and part weights in row order (empty before format 3). */
  readonly weightSplits: Readonly<Record<string, WeightSplit>>;
  readonly exporter: { readonly name: string; readonly version: string; readonly source: string };
}

/** Every file the package lists (for download and integrity checks). */
export function packageFiles(m: PackageManifest): PackageFile[] {
  const files: PackageFile[] = [m.tokenizer.tokenizer, m.tokenizer.tokenizerConfig];
  if (m.tokenizer.chatTemplate) files.push(m.tokenizer.chatTemplate);
  for (const g of m.graphs) files.push({ path: g.path, sizeBytes: g.sizeBytes, sha256: g.sha256 });
  files.push(...m.shards);
  return files;
}

/** Bytes of one element. */
export function dtypeSizeBytes(dtype: TensorDtype): number {
  return dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'float16' ? 2 : dtype === 'int64' ? 8 : 1;
}

// ---- validation -------------------------------------------------------------------------------

const fields = jsonFields(MANIFEST_FILE_NAME);
const { obj, arr, str, num, oneOf } = fields;
/** A declared function, so that TypeScript narrows after it (it never returns). */
function invalid(field: string, expected: string, actual: unknown): never {
  return fields.invalid(field, expected, actual);
}

/** Validates a PackageFile (relative path, size, sha256) at `field`; `f` names the file in errors. */
export function parseFile(v: unknown, field: string, f: JsonFields = fields): PackageFile {
  const { invalid, obj, str, num } = f;
  const o = obj(v, field);
  const path = str(o.path, `${field}.path`);
  if (path.startsWith('/') || path.split(/[\\/]/).includes('..')) invalid(`${field}.path`, 'a relative path inside the package', path);
  const sha256 = str(o.sha256, `${field}.sha256`);
  if (!/^[0-9a-f]{64}$/.test(sha256)) invalid(`${field}.sha256`, '64 lower-case hex digits', sha256);
  return { path, sha256, sizeBytes: num(o.sizeBytes, `${field}.sizeBytes`, { int: true, min: 0 }) };
}

/** Validates a ModelSpec at `field`; `f` names the file in errors (default manifest.json). */
export function parseModelSpec(v: unknown, field: string, f: JsonFields = fields): ModelSpec {
  const { invalid, obj, num, bool, oneOf, numbers } = f;
  const o = obj(v, field);
  oneOf(o.modelType, `${field}.modelType`, ['sarashina2_vision'] as const);
  const vision = obj(o.vision, `${field}.vision`);
  const text = obj(o.text, `${field}.text`);
  const tokens = obj(o.tokens, `${field}.tokens`);
  const vInts = numbers(vision, `${field}.vision`, ['depth', 'embedDim', 'numHeads', 'mlpDim', 'patchSize', 'temporalPatchSize', 'spatialMergeSize', 'inChannels', 'outHiddenSize'] as const, { int: true, positive: true });
  const vFloats = numbers(vision, `${field}.vision`, ['layerNormEps', 'projectorNormEps', 'ropeTheta'] as const, { positive: true });
  const tInts = numbers(text, `${field}.text`, ['hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'vocabSize', 'maxPositionEmbeddings'] as const, { int: true, positive: true });
  const tFloats = numbers(text, `${field}.text`, ['rmsNormEps', 'ropeTheta'] as const, { positive: true });
  if (vInts.embedDim % vInts.numHeads !== 0) invalid(`${field}.vision.embedDim`, `a multiple of numHeads (${vInts.numHeads})`, vInts.embedDim);
  if (tInts.numHeads % tInts.numKvHeads !== 0) invalid(`${field}.text.numKvHeads`, `a divisor of numHeads (${tInts.numHeads})`, tInts.numKvHeads);
  const ids = numbers(tokens, `${field}.tokens`, ['bos', 'eos', 'image', 'imageStart', 'imageEnd'] as const, { int: true });
  const pad = tokens.pad === null ? null : num(tokens.pad, `${field}.tokens.pad`, { int: true, min: 0 });
  for (const [k, id] of Object.entries(ids)) if (id < 0 || id >= tInts.vocabSize) invalid(`${field}.tokens.${k}`, `an id in [0, ${tInts.vocabSize})`, id);
  return {
    modelType: 'sarashina2_vision',
    vision: { ...vInts, ...vFloats },
    text: { ...tInts, ...tFloats, tieWordEmbeddings: bool(text.tieWordEmbeddings, `${field}.text.tieWordEmbeddings`) },
    tokens: { ...ids, pad },
  };
}

/** Validates an ImageProcessorSpec at `field`; `f` names the file in errors (default manifest.json). */
export function parseImageProcessor(v: unknown, field: string, f: JsonFields = fields): ImageProcessorSpec {
  const { invalid, obj, num, bool, oneOf, numbers } = f;
  const triple = (t: unknown, name: string): readonly [number, number, number] => {
    const a = f.arr(t, name);
    if (a.length !== 3) invalid(name, '3 numbers', t);
    return [num(a[0], `${name}[0]`), num(a[1], `${name}[1]`), num(a[2], `${name}[2]`)];
  };
  const o = obj(v, field);
  const ints = numbers(o, field, ['minPixels', 'maxPixels', 'patchSize', 'temporalPatchSize', 'mergeSize'] as const, { int: true, positive: true });
  if (ints.maxPixels < ints.minPixels) invalid(`${field}.maxPixels`, `≥ minPixels (${ints.minPixels})`, ints.maxPixels);
  return {
    ...(o.pipeline === undefined ? {} : { pipeline: oneOf(o.pipeline, `${field}.pipeline`, IMAGE_PIPELINES) }),
    ...ints,
    imageMean: triple(o.imageMean, `${field}.imageMean`),
    imageStd: triple(o.imageStd, `${field}.imageStd`),
    rescaleFactor: num(o.rescaleFactor, `${field}.rescaleFactor`, { positive: true }),
    resample: oneOf(o.resample, `${field}.resample`, ['nearest', 'bilinear', 'bicubic', 'lanczos', 'box', 'hamming'] as const),
    doResize: bool(o.doResize, `${field}.doResize`),
    doRescale: bool(o.doRescale, `${field}.doRescale`),
    doNormalize: bool(o.doNormalize, `${field}.doNormalize`),
    doConvertRgb: bool(o.doConvertRgb, `${field}.doConvertRgb`),
  };
}

function parseSignature(v: unknown, field: string): TensorSignature {
  const o = obj(v, field);
  const shape = arr(o.shape, `${field}.shape`).map((d, i) => (typeof d === 'string' ? str(d, `${field}.shape[${i}]`) : num(d, `${field}.shape[${i}]`, { int: true, min: 0 })));
  return { name: str(o.name, `${field}.name`), dtype: oneOf(o.dtype, `${field}.dtype`, TENSOR_DTYPES), shape };
}

/**
 * Validates parsed manifest.json and returns it typed, in the current format (a format-1 package without the
 * graphs and pipelines no engine path runs). Cross-checks: every weight lies inside a listed shard and its byte
 * size matches dtype × shape; each of PACKAGE_GRAPHS is listed once and its weight bindings name listed weights.
 * Throws 'invalid-model' naming the field, the expected and the actual value.
 */
export function parseManifest(json: unknown): PackageManifest {
  const o = obj(json, 'manifest');
  if (o.formatVersion !== 1 && o.formatVersion !== 2 && o.formatVersion !== MANIFEST_FORMAT_VERSION) {
    invalid('formatVersion', `1 (exporter 0.1.0), 2 (exporter 0.2.0) or ${MANIFEST_FORMAT_VERSION} (exporter 0.3.0 or later)`, o.formatVersion);
  }
  const formatVersion = o.formatVersion;
  const tok = obj(o.tokenizer, 'tokenizer');
  const shards = arr(o.shards, 'shards').map((s, i) => parseFile(s, `shards[${i}]`));
  const shardSizes = new Map(shards.map((s) => [s.path, s.sizeBytes]));
  const weights: Record<string, WeightEntry> = {};
  for (const [name, w] of Object.entries(obj(o.weights, 'weights'))) {
    const f = `weights["${name}"]`;
    const e = obj(w, f);
    const parts = arr(e.parts, `${f}.parts`).map((r, j): ShardRange => {
      const pf = `${f}.parts[${j}]`;
      const ro = obj(r, pf);
      const shard = str(ro.shard, `${pf}.shard`);
      const shardSize = shardSizes.get(shard);
      if (shardSize === undefined) invalid(`${pf}.shard`, 'a path listed in shards', shard);
      const range = { shard, byteOffset: num(ro.byteOffset, `${pf}.byteOffset`, { int: true, min: 0 }), sizeBytes: num(ro.sizeBytes, `${pf}.sizeBytes`, { int: true, min: 0 }) };
      if (range.byteOffset + range.sizeBytes > shardSize) invalid(`${pf}.byteOffset`, `a range inside ${shard} (${shardSize} bytes)`, range.byteOffset);
      return range;
    });
    const dtype = oneOf(e.dtype, `${f}.dtype`, WEIGHT_DTYPES);
    const shape = arr(e.shape, `${f}.shape`).map((d, i) => num(d, `${f}.shape[${i}]`, { int: true, min: 0 }));
    const sizeBytes = num(e.sizeBytes, `${f}.sizeBytes`, { int: true, min: 0 });
    const expectedBytes = shape.reduce((a, b) => a * b, 1) * dtypeSizeBytes(dtype);
    if (sizeBytes !== expectedBytes) invalid(`${f}.sizeBytes`, `${expectedBytes} (${dtype} [${shape.join(', ')}])`, sizeBytes);
    const partBytes = parts.reduce((n, r) => n + r.sizeBytes, 0);
    if (partBytes !== sizeBytes) invalid(`${f}.parts`, `ranges adding up to sizeBytes ${sizeBytes}`, partBytes);
    weights[name] = { parts, sizeBytes, dtype, shape, layout: oneOf(e.layout, `${f}.layout`, WEIGHT_LAYOUTS) };
  }
  const weightSplits = formatVersion === MANIFEST_FORMAT_VERSION ? parseWeightSplits(o.weightSplits, weights) : {};
  const graphs: GraphEntry[] = [];
  for (const [i, g] of arr(o.graphs, 'graphs').entries()) {
    const f = `graphs[${i}]`;
    const e = obj(g, f);
    // Format 1's segmented vision graphs and projector: no engine path runs them.
    if (formatVersion === 1 && !PACKAGE_GRAPHS.includes(e.name as GraphName)) continue;
    const name = oneOf(e.name, `${f}.name`, PACKAGE_GRAPHS);
    if (graphs.some((x) => x.name === name)) invalid(`${f}.name`, 'a graph listed once', name);
    const bindings: Record<string, string> = {};
    for (const [input, value] of Object.entries(obj(e.weights, `${f}.weights`))) {
      const weight = str(value, `${f}.weights.${input}`);
      if (!(weight in weights)) invalid(`${f}.weights.${input}`, 'a weight listed in weights', weight);
      bindings[input] = weight;
    }
    graphs.push({
      ...parseFile(e, f),
      name,
      inputs: arr(e.inputs, `${f}.inputs`).map((s, j) => parseSignature(s, `${f}.inputs[${j}]`)),
      outputs: arr(e.outputs, `${f}.outputs`).map((s, j) => parseSignature(s, `${f}.outputs[${j}]`)),
      weights: bindings,
    });
  }
  for (const name of PACKAGE_GRAPHS) if (!graphs.some((g) => g.name === name)) invalid('graphs', `a list holding graph "${name}"`, graphs.map((g) => g.name));
  const ex = obj(o.exporter, 'exporter');
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    precision: oneOf(o.precision, 'precision', PRECISIONS),
    model: parseModelSpec(o.model, 'model'),
    imageProcessor: parseImageProcessor(o.imageProcessor, 'imageProcessor'),
    tokenizer: {
      tokenizer: parseFile(tok.tokenizer, 'tokenizer.tokenizer'),
      tokenizerConfig: parseFile(tok.tokenizerConfig, 'tokenizer.tokenizerConfig'),
      chatTemplate: tok.chatTemplate === null ? null : parseFile(tok.chatTemplate, 'tokenizer.chatTemplate'),
    },
    graphs,
    shards,
    weights,
    weightSplits,
    exporter: { name: str(ex.name, 'exporter.name'), version: str(ex.version, 'exporter.version'), source: str(ex.source, 'exporter.source') },
  };
}

/**
 * Validates `weightSplits`: each whole name is not itself a weight; its parts are listed weights of one dtype and
 * layout whose shapes differ only in the first dim, and those first dims add up to `rows`.
 */
function parseWeightSplits(v: unknown, weights: Readonly<Record<string, WeightEntry>>): Record<string, WeightSplit> {
  const out: Record<string, WeightSplit> = {};
  for (const [name, s] of Object.entries(obj(v, 'weightSplits'))) {
    const f = `weightSplits["${name}"]`;
    if (name in weights) invalid(f, 'the name of a weight stored only as parts', name);
    const e = obj(s, f);
    const rows = num(e.rows, `${f}.rows`, { int: true, positive: true });
    const parts = arr(e.parts, `${f}.parts`).map((p, i) => str(p, `${f}.parts[${i}]`));
    if (parts.length < 2) invalid(`${f}.parts`, 'at least 2 part weights', parts);
    let sum = 0;
    let first: WeightEntry | undefined;
    for (const [i, part] of parts.entries()) {
      const w = weights[part];
      if (!w) invalid(`${f}.parts[${i}]`, 'a weight listed in weights', part);
      first ??= w;
      const tail = (x: WeightEntry): string => x.shape.slice(1).join(',');
      if (w.dtype !== first.dtype || w.layout !== first.layout || w.shape.length < 1 || tail(w) !== tail(first)) {
        invalid(`${f}.parts[${i}]`, `a part like ${parts[0]} (${first.dtype} ${first.layout} [rows, ${first.shape.slice(1).join(', ')}])`, `${part}: ${w.dtype} ${w.layout} [${w.shape.join(', ')}]`);
      }
      sum += w.shape[0] ?? 0;
    }
    if (sum !== rows) invalid(`${f}.rows`, `the parts' rows added up (${sum})`, rows);
    // An int4 part is multiplied with its own scales: they must hold the part's rows.
    if (first?.layout === 'matmulnbits-q4-b32') {
      for (const [i, part] of parts.entries()) {
        const scales = weights[scalesName(part)];
        if (scales?.shape[0] !== weights[part]?.shape[0]) invalid(`${f}.parts[${i}]`, `an int4 part with scales ${scalesName(part)} of its ${weights[part]?.shape[0]} rows`, part);
      }
    }
    out[name] = { rows, parts };
  }
  return out;
}
