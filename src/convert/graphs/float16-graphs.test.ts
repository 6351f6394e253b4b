/**
 * The f16 graph variants (q4f16 packages), structure and math, on onnxruntime-web's wasm CPU EP against the
 * plain-TS forward with f16-rounded weights, at f16 tolerance: adapter-independent, so it runs once (SwiftShader's
 * project). On WebGPU they run where the adapter has `shader-f16`: lavapipe in the q4f16 engine tests
 * (src/model/sarashina-model.test.ts, src/model/odd-model.test.ts), the H200 with Dawn's f16 toggles in the bench.
 */
import { describe, expect, it } from 'vitest';
import { encodeOnnxModel } from '../../ort/onnx/onnx-model';
import { loadOrt, type OrtTensor } from '../../ort/ort-runtime';
import { visionRotaryTables, type PatchGrid } from '../../processor/vision-rotary';
import { allDecoderLinears, checkpointTensorShapes, scalesName } from '../../protocol/weight-names';
import { compareArrays, randomFloats } from '../../testing/compare';
import { fromFloat16Array, toFloat16Array } from '../quantize/float16';
import { dequantizeInt4Block32, quantizeInt4Block32, type Int4Weight } from '../quantize/int4-block-quantizer';
import { decoderForwardReference, llamaRotaryTables } from '../../../export/reference-forward/decoder-reference';
import { randomWeights, TINY_SPEC } from '../../../export/reference-forward/random-weights';
import { imageRanges, visionForwardReference } from '../../../export/reference-forward/vision-reference';
import { buildDecoderGraph } from './decoder-graph';
import type { ModelGraph } from './graph-builder';
import { buildVisionWholeGraph } from './vision-graphs';

const spec = TINY_SPEC;
const weights = randomWeights(spec, 300);
const rounded = new Map([...weights].map(([k, v]) => [k, fromFloat16Array(toFloat16Array(v))]));
const f16 = (v: Float32Array): Uint16Array => toFloat16Array(v);
const shapes = checkpointTensorShapes(spec);
const linears = new Set(allDecoderLinears(spec));
const linearOfScales = new Map([...linears].map((name) => [scalesName(name), name]));

async function runCpu(model: ModelGraph, feeds: Record<string, OrtTensor>, weight: (name: string, type: string, dims: number[]) => OrtTensor): Promise<Record<string, OrtTensor>> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(encodeOnnxModel(model.graph), { executionProviders: ['wasm'] });
  try {
    const all: Record<string, OrtTensor> = { ...feeds };
    for (const input of model.graph.inputs) {
      const binding = model.weights[input.name];
      if (binding !== undefined) all[input.name] = weight(binding, input.type, input.shape as number[]);
    }
    return await session.run(all);
  } finally {
    await session.release();
  }
}

describe('f16 graphs (q4f16 packages) on the wasm CPU EP', () => {
  it('vision-whole in float16 matches the forward with f16-rounded weights within 2e-2', async () => {
    const ort = await loadOrt();
    const grids: PatchGrid[] = [{ t: 1, h: 2, w: 4 }, { t: 1, h: 2, w: 2 }];
    const n = 12;
    const D = spec.vision.embedDim / spec.vision.numHeads;
    const pixels = fromFloat16Array(f16(randomFloats(n * 1176, 31)));
    const { cos, sin } = visionRotaryTables(grids, D, spec.vision.ropeTheta);
    const bias = new Float32Array(n * n).fill(-60000);
    for (const { start, end } of imageRanges(grids)) for (let i = start; i < end; i++) bias.fill(0, i * n + start, i * n + end);
    const t = (data: Float32Array, dims: number[]): OrtTensor => new ort.Tensor('float16', f16(data), dims);
    const out = await runCpu(
      buildVisionWholeGraph(spec, { floatType: 'float16' }),
      { pixel_values: t(pixels, [n, 1176]), rotary_cos: t(cos, [n, D / 2]), rotary_sin: t(sin, [n, D / 2]), attention_bias: t(bias, [n, n]) },
      (name, _type, dims) => new ort.Tensor('float16', f16(weights.get(name)!), dims),
    );
    const got = fromFloat16Array(out.image_features!.data as Uint16Array);
    const expected = visionForwardReference(spec, (name) => rounded.get(name)!, pixels, grids);
    const stats = compareArrays(got, expected);
    expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(2e-2);
    expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.5);
  });

  it('decoder q4f16 prefill matches the forward with dequantized (f16-scale) weights within 3e-2', async () => {
    const ort = await loadOrt();
    const t = spec.text;
    const S = 6;
    const MAX = 16;
    const q = new Map<string, Int4Weight>();
    const quant = (name: string): Int4Weight => {
      let w = q.get(name);
      if (!w) {
        const [rows = 0, cols = 0] = shapes.get(name) ?? [];
        w = quantizeInt4Block32(weights.get(name)!, rows, cols, { scaleType: 'float16', name });
        q.set(name, w);
      }
      return w;
    };
    const embeds = fromFloat16Array(f16(randomFloats(S * t.hiddenSize, 41)));
    const { cos, sin } = llamaRotaryTables(MAX, t.headDim, t.ropeTheta);
    const h = (data: Float32Array, dims: number[]): OrtTensor => new ort.Tensor('float16', f16(data), dims);
    const feeds: Record<string, OrtTensor> = {
      inputs_embeds: h(embeds, [1, S, t.hiddenSize]),
      seqlens_k: new ort.Tensor('int32', new Int32Array([S - 1]), [1]),
      total_sequence_length: new ort.Tensor('int32', new Int32Array([S]), []),
      cos_cache: h(cos, [MAX, t.headDim / 2]),
      sin_cache: h(sin, [MAX, t.headDim / 2]),
    };
    for (let l = 0; l < t.numLayers; l++) {
      for (const kind of ['key', 'value']) feeds[`past_${kind}.${l}`] = h(new Float32Array(t.numKvHeads * MAX * t.headDim), [1, t.numKvHeads, MAX, t.headDim]);
    }
    const out = await runCpu(buildDecoderGraph(spec, { precision: 'q4f16', accuracyLevel: 0 }), feeds, (name, type, dims) => {
      const linear = linearOfScales.get(name);
      if (linear !== undefined) return new ort.Tensor('float16', quant(linear).scales as Uint16Array, dims);
      if (type === 'uint8') return new ort.Tensor('uint8', quant(name).packed, dims);
      return new ort.Tensor('float16', f16(weights.get(name)!), dims);
    });
    expect(out.logits!.type).toBe('float32');
    const got = out.logits!.data as Float32Array;
    const lookup = (name: string): Float32Array => (linears.has(name) ? dequantizeInt4Block32(quant(name)) : rounded.get(name)!);
    const all = decoderForwardReference(spec, lookup, embeds);
    const expected = all.slice(all.length - t.vocabSize);
    const stats = compareArrays(got, expected);
    expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(3e-2);
    expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.5);
  });
});
