/**
 * Test helper: a model's prefill and decode steps driven one at a time, the logits of each read back — for parity
 * tests that compare step by step (against Hugging Face's fixtures, ORT's decode path or a reference forward).
 */
import { createStorageBuffer, readBuffer } from '../gpu/gpu-buffers';
import type { GpuContext } from '../gpu/gpu-context';
import type { FeatureSpan, ImageFeatures, VisionLanguageModel } from '../model/vision-language-model';

/** The ids of a prompt and its image-feature spans. */
export interface StepPrompt {
  readonly ids: Int32Array;
  readonly spans: readonly FeatureSpan[];
}

export async function readLogits(ctx: GpuContext, model: VisionLanguageModel, buffer: GPUBuffer): Promise<Float32Array> {
  return new Float32Array(await readBuffer(ctx.device, buffer, model.spec.text.vocabSize * 4));
}

/** The first index of the largest value. */
export function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] ?? -Infinity) > (v[best] ?? -Infinity)) best = i;
  return best;
}

/** Prefill, then `steps` decode steps feeding `forced` tokens (or the argmax) through a GPU token buffer. */
export async function runSteps(ctx: GpuContext, model: VisionLanguageModel, p: StepPrompt, steps: number, forced?: readonly number[]): Promise<{ logits: Float32Array[]; tokens: number[] }> {
  const token = createStorageBuffer(ctx.device, 'test.token', 16);
  try {
    const logits = [await readLogits(ctx, model, await model.prefill(p.ids, 0, p.spans))];
    const tokens: number[] = [];
    for (let s = 0; s < steps; s++) {
      const next = forced?.[s] ?? argmax(logits[s] as Float32Array);
      tokens.push(next);
      ctx.device.queue.writeBuffer(token, 0, new Uint32Array([next]));
      logits.push(await readLogits(ctx, model, await model.decode(token, p.ids.length + s)));
    }
    return { logits, tokens };
  } finally {
    token.destroy();
  }
}

/** Decode steps only, no prefill: `tokens[i]` through the decode step at position i; the logits after each. */
export async function decodeSteps(ctx: GpuContext, model: VisionLanguageModel, tokens: readonly number[]): Promise<Float32Array[]> {
  const token = createStorageBuffer(ctx.device, 'test.token', 16);
  try {
    const logits: Float32Array[] = [];
    for (const [position, id] of tokens.entries()) {
      ctx.device.queue.writeBuffer(token, 0, new Uint32Array([id]));
      logits.push(await readLogits(ctx, model, await model.decode(token, position)));
    }
    return logits;
  } finally {
    token.destroy();
  }
}

/** The prompt's runs of image tokens, in order, each taking the next rows of `features` (one row per token). */
export function imageSpans(ids: Int32Array, imageToken: number, features: ImageFeatures): FeatureSpan[] {
  const spans: FeatureSpan[] = [];
  let row = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== imageToken || (i > 0 && ids[i - 1] === imageToken)) continue;
    let end = i;
    while (ids[end] === imageToken) end++;
    spans.push({ start: i, length: end - i, features, featureRow: row });
    row += end - i;
  }
  return spans;
}
