import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../convert/hf-config';
import { parseHeaderLength, parseSafetensorsHeader } from '../convert/safetensors/safetensors-header';
import type { ModelSpec } from './model-spec';
import { allBiases, allDecoderLinears, allNorms, checkpointTensorShapes, scalesName } from './weight-names';

// The expected names come from checkpoints, not from this module: the random tiny checkpoint that Hugging Face's
// reference script loaded (fixtures/tiny) and the trained small model that transformers saved (export/train).
const TINY = join(import.meta.dirname, '../../export/reference/fixtures/tiny/checkpoint');
const TRAINED = join(import.meta.dirname, '../../export/train/checkpoint');

interface Checkpoint {
  readonly spec: ModelSpec;
  /** [name, shape] of every tensor, in the file's data order. */
  readonly tensors: [string, readonly number[]][];
}

async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const spec = parseModelConfig(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
  const file = join(dir, 'model.safetensors');
  const bytes = await readFile(file);
  const length = parseHeaderLength(bytes.subarray(0, 8), file, bytes.byteLength);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + length), file, bytes.byteLength);
  return { spec, tensors: header.entries.map((e) => [e.name, e.shape]) };
}

const byName = (a: [string, readonly number[]], b: [string, readonly number[]]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

describe('checkpointTensorShapes', () => {
  it('lists the tiny checkpoint’s tensors with their shapes, in its order', async () => {
    const { spec, tensors } = await openCheckpoint(TINY);
    expect([...checkpointTensorShapes(spec)]).toEqual(tensors);
  });

  it('lists the trained checkpoint’s tensors with their shapes (transformers saves them sorted by name)', async () => {
    const { spec, tensors } = await openCheckpoint(TRAINED);
    expect([...checkpointTensorShapes(spec)].sort(byName)).toEqual(tensors.sort(byName));
  });
});

describe('tensor groups', () => {
  it('allNorms and allBiases split the trained checkpoint’s 1-D tensors as its names do', async () => {
    const { spec, tensors } = await openCheckpoint(TRAINED);
    const vectors = tensors.filter(([, shape]) => shape.length === 1).map(([name]) => name);
    const norms = allNorms(spec);
    expect(allBiases(spec).sort()).toEqual(vectors.filter((n) => n.endsWith('.bias')).sort());
    expect(norms.map((n) => n.weight).sort()).toEqual(vectors.filter((n) => !n.endsWith('.bias')).sort());
    // A LayerNorm's bias sits next to its weight.
    for (const n of norms) if (n.bias !== undefined) expect(n.bias.replace(/\.bias$/, '.weight')).toBe(n.weight);
  });

  it('allDecoderLinears names every 2-D decoder matrix the trained checkpoint multiplies by (all but the embedding table)', async () => {
    const { spec, tensors } = await openCheckpoint(TRAINED);
    const matrices = tensors.filter(([name, shape]) => shape.length === 2 && name.startsWith('llm.') && !name.endsWith('embed_tokens.weight')).map(([name]) => name);
    expect([...allDecoderLinears(spec)].sort()).toEqual(matrices.sort());
  });

  it('scalesName appends the MatMulNBits companion suffix', () => {
    expect(scalesName('a.weight')).toBe('a.weight.scales');
  });
});
