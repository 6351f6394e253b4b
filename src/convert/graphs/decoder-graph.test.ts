import { describe, expect, it } from 'vitest';
import { compareArrays, randomFloats } from '../../testing/compare';
import { testGpuContext } from '../../testing/node-gpu';
import type { OrtTensor } from '../../ort/ort-runtime';
import { allDecoderLinears, checkpointTensorShapes, scalesName } from '../../protocol/weight-names';
import { decoderForwardReference, llamaRotaryTables } from '../../../export/reference-forward/decoder-reference';
import { randomWeights, TINY_SPEC } from '../../../export/reference-forward/random-weights';
import { dequantizeInt4Block32, quantizeInt4Block32, type Int4Weight } from '../quantize/int4-block-quantizer';
import { buildDecoderGraph, type DecoderGraphOptions } from './decoder-graph';
import { GraphHarness, weightFeeds, type HostData, type HostTensor } from '../../testing/graph-harness';

const spec = TINY_SPEC;
const t = spec.text;
const H = t.hiddenSize;
const MAX_LEN = 16;
const weights = randomWeights(spec, 200);
const get = (name: string): Float32Array => {
  const w = weights.get(name);
  if (!w) throw new Error(`no weight ${name}`);
  return w;
};
const shapes = checkpointTensorShapes(spec);
const linears = new Set(allDecoderLinears(spec));
const linearOfScales = new Map([...linears].map((name) => [scalesName(name), name]));

/** Quantized linears (cached) and a lookup of their dequantized values for the reference. */
function quantized(): { resolve: (binding: string) => HostData; dequantized: (name: string) => Float32Array } {
  const cache = new Map<string, Int4Weight>();
  const q = (name: string): Int4Weight => {
    let w = cache.get(name);
    if (!w) {
      const [rows = 0, cols = 0] = shapes.get(name) ?? [];
      w = quantizeInt4Block32(get(name), rows, cols, { scaleType: 'float32', name });
      cache.set(name, w);
    }
    return w;
  };
  return {
    resolve: (binding) => {
      const linear = linearOfScales.get(binding);
      if (linear !== undefined) return q(linear).scales;
      return linears.has(binding) ? q(binding).packed : get(binding);
    },
    dequantized: (name) => (linears.has(name) ? dequantizeInt4Block32(q(name)) : get(name)),
  };
}

/** Runs prefill (5 tokens), one decode step, then a 3-token follow-up prompt on one static KV cache. */
async function runSteps(options: DecoderGraphOptions, resolve: (binding: string) => HostData): Promise<Float32Array[]> {
  const ctx = await testGpuContext();
  const model = buildDecoderGraph(spec, options);
  const harness = await GraphHarness.create(ctx, model.graph);
  try {
    const { cos, sin } = llamaRotaryTables(MAX_LEN, t.headDim, t.ropeTheta);
    const cacheDims = [1, t.numKvHeads, MAX_LEN, t.headDim];
    const caches: Record<string, OrtTensor> = {};
    for (let l = 0; l < t.numLayers; l++) {
      for (const kind of ['key', 'value']) caches[`${kind}.${l}`] = harness.tensor({ type: 'float32', dims: cacheDims, data: new Float32Array(cacheDims.reduce((a, b) => a * b)) });
    }
    const fixed = {
      cos_cache: harness.tensor({ type: 'float32', dims: [MAX_LEN, t.headDim / 2], data: cos }),
      sin_cache: harness.tensor({ type: 'float32', dims: [MAX_LEN, t.headDim / 2], data: sin }),
      ...weightFeeds(model, (binding) => resolve(binding)),
    };
    const logits: Float32Array[] = [];
    let past = 0;
    for (const [S, seed] of [
      [5, 1],
      [1, 2],
      [3, 3],
    ] as const) {
      const feeds: Record<string, OrtTensor | HostTensor> = {
        ...fixed,
        inputs_embeds: { type: 'float32', dims: [1, S, H], data: embedsFor(seed, S) },
        seqlens_k: { type: 'int32', dims: [1], data: new Int32Array([past + S - 1]) },
        total_sequence_length: { type: 'int32', dims: [], data: new Int32Array([past + S]), cpu: true },
      };
      const fetches: Record<string, OrtTensor | null> = { logits: null };
      for (let l = 0; l < t.numLayers; l++) {
        feeds[`past_key.${l}`] = caches[`key.${l}`]!;
        feeds[`past_value.${l}`] = caches[`value.${l}`]!;
        fetches[`present_key.${l}`] = caches[`key.${l}`]!;
        fetches[`present_value.${l}`] = caches[`value.${l}`]!;
      }
      const out = await harness.run(feeds, fetches);
      expect(out.logits!.dims).toEqual([1, t.vocabSize]);
      logits.push(await harness.readFloat32(out.logits!));
      past += S;
    }
    return logits;
  } finally {
    await harness.release();
  }
}

function embedsFor(seed: number, S: number): Float32Array {
  return randomFloats(S * H, 1000 + seed);
}

/** Reference logits after each of the three steps (the whole sequence so far, last row). */
function referenceSteps(lookup: (name: string) => Float32Array): Float32Array[] {
  const all = [embedsFor(1, 5), embedsFor(2, 1), embedsFor(3, 3)];
  const out: Float32Array[] = [];
  let seq = new Float32Array(0);
  for (const e of all) {
    const next = new Float32Array(seq.length + e.length);
    next.set(seq);
    next.set(e, seq.length);
    seq = next;
    const logits = decoderForwardReference(spec, lookup, seq);
    out.push(logits.slice(logits.length - t.vocabSize));
  }
  return out;
}

function expectClose(actual: Float32Array[], expected: Float32Array[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const stats = compareArrays(a, expected[i]!);
    expect(stats.maxRel, `step ${i}: ${JSON.stringify(stats)}`).toBeLessThan(tolerance);
    expect(Math.max(...expected[i]!.map(Math.abs))).toBeGreaterThan(0.5);
  });
}

describe('decoder graph on WebGPU (GQA static cache, no CPU fallback) vs the plain-TS Llama forward', () => {
  it('fp32: prefill, a decode step and a follow-up prompt match within 1e-4 relative', async () => {
    expectClose(await runSteps({ precision: 'fp32' }, get), referenceSteps(get), 1e-4);
  });

  // (accuracy_level 0 is exact to rounding: checked per op in src/convert/quantize/int4-block-quantizer.test.ts.)
  it('q4f32 with accuracy_level 4 (int8 activations) stays within 2e-2 of the dequantized forward', async () => {
    const q = quantized();
    expectClose(await runSteps({ precision: 'q4f32', accuracyLevel: 4 }, q.resolve), referenceSteps(q.dequantized), 2e-2);
  });
});
