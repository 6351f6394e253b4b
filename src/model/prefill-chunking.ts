/**
 * How many prompt tokens one run of the ORT decoder graph may take during prefill.
 *
 * onnxruntime-web 1.30's GroupQueryAttention gives wrong rows for a single prefill run of ≥ 32 tokens on
 * SwiftShader (subgroup size 4) and on lavapipe (subgroup size 8), while an H200 (subgroup size 32) is exact up to
 * 1024 tokens per run (export/package/exported-parity.test.ts, 2026-11-26). Measured 2026-12-02 on the tiny fp32
 * package's first logits vs the HF fixture (76–96-token prompts): runs of 8, 16 and 24 tokens are exact on both
 * (maxRel ≤ 4.1e-7); runs of 32, 64 or the whole prompt are not (lavapipe maxRel 3.6e-3–2.1e-2, SwiftShader
 * 5.8e-2–2.2e-1). Runs of ≤ 16 on the static KV cache are exact on all three, so adapters that may run subgroups
 * narrower than 32 (or do not say), and software fallbacks (both CPU drivers report isFallbackAdapter), get 16;
 * the rest get a large chunk, which bounds the [chunk × context] attention scratch ORT allocates per head.
 */
import type { GpuCapabilities } from '../gpu/gpu-context';

/** Tokens per run where GQA's multi-token path was seen to be wrong at ≥ 32 (SwiftShader, lavapipe). */
export const SAFE_PREFILL_CHUNK_TOKENS = 16;
/** Tokens per run on adapters whose subgroups are at least 32 wide (NVIDIA, AMD, Apple). */
export const WIDE_PREFILL_CHUNK_TOKENS = 512;
/** The narrowest subgroup the wide chunk was verified on. */
const VERIFIED_SUBGROUP_SIZE = 32;

export type PrefillChunkCapabilities = Pick<GpuCapabilities, 'subgroupMinSize' | 'isFallbackAdapter'>;

/**
 * Prompt tokens per decoder-graph run for this adapter: `WIDE_PREFILL_CHUNK_TOKENS` when every subgroup
 * is ≥ 32 lanes and the adapter is not a software fallback, else `SAFE_PREFILL_CHUNK_TOKENS`.
 */
export function prefillChunkTokens(caps: PrefillChunkCapabilities): number {
  if (caps.isFallbackAdapter) return SAFE_PREFILL_CHUNK_TOKENS;
  return caps.subgroupMinSize >= VERIFIED_SUBGROUP_SIZE ? WIDE_PREFILL_CHUNK_TOKENS : SAFE_PREFILL_CHUNK_TOKENS;
}

/** Half-open ranges [start, end) of `length` tokens cut into runs of at most `chunkTokens`. */
export function prefillChunks(length: number, chunkTokens: number): { start: number; end: number }[] {
  if (!Number.isInteger(chunkTokens) || chunkTokens < 1) throw new RangeError(`prefillChunks: chunkTokens must be a positive integer, got ${chunkTokens}`);
  const out: { start: number; end: number }[] = [];
  for (let start = 0; start < length; start += chunkTokens) out.push({ start, end: Math.min(length, start + chunkTokens) });
  return out;
}
