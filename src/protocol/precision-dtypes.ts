/**
 * What each precision variant stores and computes in, decided once: the exporter writes packages by it
 * (src/convert/package/weight-plan.ts, src/convert/graphs/decoder-graph.ts) and the engine's package plan reads it.
 */
import type { PrecisionVariant } from './api';

export type FloatDtype = 'float32' | 'float16';

export interface PrecisionDtypes {
  /** Decoder activations: ORT graph I/O, embedding rows, image features handed to the decoder. */
  readonly activation: FloatDtype;
  /** KV-cache elements. */
  readonly kvCache: FloatDtype;
  /** Vision weights and activations in storage, norms and every other float weight. */
  readonly floatWeights: FloatDtype;
  /** The embedding table (gathered by our kernel: f16 in q4 variants works without shader-f16). */
  readonly embeddingTable: FloatDtype;
  /** Decoder linears and lm_head: 'int4' (MatMulNBits block 32) or plain float32 matrices. */
  readonly decoderLinears: 'int4' | 'float32';
  /** Scales of int4 weights. */
  readonly int4Scales: FloatDtype;
}

const F32: FloatDtype = 'float32';
const F16: FloatDtype = 'float16';

/** The dtypes of a precision variant. */
export function precisionDtypes(precision: PrecisionVariant): PrecisionDtypes {
  switch (precision) {
    case 'fp32':
      return { activation: F32, kvCache: F32, floatWeights: F32, embeddingTable: F32, decoderLinears: 'float32', int4Scales: F32 };
    case 'q4f32':
      return { activation: F32, kvCache: F32, floatWeights: F32, embeddingTable: F16, decoderLinears: 'int4', int4Scales: F32 };
    case 'q4f16':
      return { activation: F16, kvCache: F16, floatWeights: F16, embeddingTable: F16, decoderLinears: 'int4', int4Scales: F16 };
  }
}

/** Bytes per element of a float dtype. */
export function floatBytes(dtype: FloatDtype): number {
  return dtype === 'float16' ? 2 : 4;
}

/**
 * Whether a variant's shaders compute in f16 and so need the WebGPU feature `shader-f16`: f16 activations, KV
 * cache or float weights do; an f16 embedding table alone does not (its gather unpacks with unpack2x16float).
 */
export function needsShaderF16(precision: PrecisionVariant): boolean {
  const d = precisionDtypes(precision);
  return d.activation === F16 || d.kvCache === F16 || d.floatWeights === F16;
}
