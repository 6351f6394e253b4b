/**
 * Layers as ONNX nodes, shared by the graph builders. Activations are 2-D [rows, features]; a linear
 * weight stays in Hugging Face's [out, in] layout and is applied with Gemm(transB = 1), so the same
 * weight bytes serve ORT and our own kernels.
 */
import type { AffineNames } from '../../protocol/weight-names';
import { partName } from '../../protocol/weight-parts';
import type { GraphBuilder } from './graph-builder';

/** The package weights a layer's weight (and bias) bind to, named by WEIGHTS. */
export type LayerBinding = AffineNames | { readonly weight: string; readonly bias?: undefined };

function bound(binding: LayerBinding, part: keyof AffineNames): string {
  const name = binding[part];
  if (name === undefined) throw new RangeError(`graph layer: no ${part} bound (${binding.weight})`);
  return name;
}

/** y = x · Wᵀ (+ b), weights bound as `binding` says under input `<name>.*`. */
export function linear(b: GraphBuilder, x: string, p: { name: string; binding: LayerBinding; inDim: number; outDim: number; bias: boolean }): string {
  const w = b.weight(`${p.name}.weight`, b.floatType, [p.outDim, p.inDim], bound(p.binding, 'weight'));
  const inputs = [x, w];
  if (p.bias) inputs.push(b.weight(`${p.name}.bias`, b.floatType, [p.outDim], bound(p.binding, 'bias')));
  return b.op('Gemm', inputs, { attributes: { transB: 1 } });
}

/**
 * Rows per row part of each weight (src/protocol/weight-parts.ts): [rows] for a weight stored whole. The exporter
 * takes it from its weight plan, tests from a manifest's weightSplits.
 */
export type RowPartsOf = (weight: string) => readonly number[] | undefined;

/**
 * A linear whose weight `name` may be stored as row parts: `one(weight, rows)` builds the product with one bound
 * weight of `rows` output rows; with several parts, their outputs are concatenated along the last (output) axis in
 * row order, which is the product with the whole weight.
 */
export function rowPartLinear(b: GraphBuilder, name: string, rowParts: readonly number[], one: (weight: string, rows: number) => string): string {
  if (rowParts.length < 2) return one(name, rowParts[0] ?? 0);
  const outputs = rowParts.map((rows, i) => one(partName(name, i), rows));
  return b.op('Concat', outputs, { attributes: { axis: -1 } });
}

/** LayerNormalization over the last axis with weight and bias bound as `binding` says. */
export function layerNorm(b: GraphBuilder, x: string, p: { name: string; binding: LayerBinding; dim: number; eps: number }): string {
  const w = b.weight(`${p.name}.weight`, b.floatType, [p.dim], bound(p.binding, 'weight'));
  const bias = b.weight(`${p.name}.bias`, b.floatType, [p.dim], bound(p.binding, 'bias'));
  return b.op('LayerNormalization', [x, w, bias], { attributes: { axis: -1, epsilon: { float: p.eps } } });
}

/** QuickGELU: x · σ(1.702 x) (Qwen2-VL's vision MLP). */
export function quickGelu(b: GraphBuilder, x: string): string {
  return b.op('Mul', [x, b.op('Sigmoid', [b.op('Mul', [x, b.scalar(1.702)])])]);
}

/** Exact GELU: 0.5 · x · (1 + erf(x / √2)) (PatchMerger). */
export function gelu(b: GraphBuilder, x: string): string {
  const erf = b.op('Erf', [b.op('Div', [x, b.scalar(Math.SQRT2)])]);
  return b.op('Mul', [b.op('Mul', [x, b.scalar(0.5)]), b.op('Add', [erf, b.scalar(1)])]);
}

/** SiLU: x · σ(x). */
export function silu(b: GraphBuilder, x: string): string {
  return b.op('Mul', [x, b.op('Sigmoid', [x])]);
}
