import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointTensorShapes, WEIGHTS } from '../../src/protocol/weight-names';
import { checkTensorShapes, parseImageProcessorConfig, parseModelConfig } from '../../src/convert/hf-config';
import { SafetensorsCheckpoint } from '../../src/convert/safetensors/safetensors-checkpoint';
import { tensorSizeBytes } from '../safetensors/safetensors-writer';
import { pythonFloatRepr, toPythonJson } from './python-json';
import { planShards, writeRandomCheckpoint } from './random-checkpoint';
import { generationConfigJson, presetConfigJson, PRESETS } from './random-presets';
import { randomBf16Tensor } from './random-weights';
import { openCheckpointLocation } from '../../src/convert/node-checkpoint-source';

const COMMITTED = join(import.meta.dirname, '../reference/fixtures/tiny/checkpoint');
const COMMITTED_ODD = join(import.meta.dirname, '../reference/fixtures/odd/checkpoint');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'random-checkpoint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeRandomCheckpoint', () => {
  it('reproduces the committed tiny checkpoint (the one the Hugging Face fixtures were made from) byte for byte', async () => {
    const out = join(dir, 'tiny');
    const result = await writeRandomCheckpoint(out, { preset: 'tiny', seed: 0 });
    const committed = (await readdir(COMMITTED)).sort();
    expect([...result.files].sort()).toEqual(committed);
    for (const file of committed) {
      const [a, b] = await Promise.all([readFile(join(out, file)), readFile(join(COMMITTED, file))]);
      expect(Buffer.compare(a, b), file).toBe(0);
    }
  });

  it('reproduces the committed odd checkpoint (the Hugging Face odd fixtures are made from it) byte for byte', async () => {
    const out = join(dir, 'odd');
    const result = await writeRandomCheckpoint(out, { preset: 'odd', seed: 0 });
    const committed = (await readdir(COMMITTED_ODD)).sort();
    expect([...result.files].sort()).toEqual(committed);
    for (const file of committed) {
      const [a, b] = await Promise.all([readFile(join(out, file)), readFile(join(COMMITTED_ODD, file))]);
      expect(Buffer.compare(a, b), file).toBe(0);
    }
  });

  it('writes an odd checkpoint whose sizes are off the powers of two, as Hugging Face derives them', async () => {
    const out = join(dir, 'odd-parse');
    await writeRandomCheckpoint(out, { preset: 'odd', seed: 7 });
    const spec = parseModelConfig(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')));
    // LlamaConfig: head_dim = hidden_size // num_attention_heads; Qwen2VLVisionBlock: int(embed_dim * mlp_ratio).
    expect(spec.text).toMatchObject({ hiddenSize: 144, intermediateSize: 212, numHeads: 3, numKvHeads: 3, headDim: 48, vocabSize: 1000 });
    expect(spec.vision).toMatchObject({ depth: 2, embedDim: 120, numHeads: 3, mlpDim: 240, outHiddenSize: 144 });
    expect(spec.tokens).toMatchObject({ imageStart: 997, imageEnd: 998 });
    for (const k of [spec.text.hiddenSize, spec.text.intermediateSize, spec.text.vocabSize, spec.vision.embedDim, spec.vision.mlpDim]) expect(k % 32, String(k)).not.toBe(0);
    const ckpt = await SafetensorsCheckpoint.open(openCheckpointLocation(out));
    expect(() => checkTensorShapes(spec, ckpt.tensors)).not.toThrow();
    expect(ckpt.tensors.get(WEIGHTS.visionBlock(0).fc1.weight)?.shape).toEqual([240, 120]);
  });

  it('writes a tiny checkpoint that hf-config parses into the tiny ModelSpec, with matching tensors', async () => {
    const out = join(dir, 'tiny-parse');
    await writeRandomCheckpoint(out, { preset: 'tiny', seed: 7 });
    const spec = parseModelConfig(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')));
    expect(spec.text).toEqual({
      hiddenSize: 64,
      intermediateSize: 160,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 4,
      headDim: 16,
      vocabSize: 2048,
      maxPositionEmbeddings: 4096,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      tieWordEmbeddings: false,
    });
    expect(spec.vision).toMatchObject({ depth: 2, embedDim: 64, numHeads: 4, mlpDim: 128, patchSize: 14, temporalPatchSize: 2, spatialMergeSize: 2, inChannels: 3, outHiddenSize: 64 });
    expect(spec.tokens).toEqual({ bos: 1, eos: 2, pad: null, image: 14, imageStart: 2045, imageEnd: 2046 });
    const processor = parseImageProcessorConfig(JSON.parse(await readFile(join(out, 'preprocessor_config.json'), 'utf8')));
    expect(processor).toMatchObject({ minPixels: 3136, maxPixels: 200704, resample: 'bicubic', rescaleFactor: 1 / 255 });

    const ckpt = await SafetensorsCheckpoint.open(openCheckpointLocation(out));
    expect(() => checkTensorShapes(spec, ckpt.tensors)).not.toThrow();
    expect(new Set([...ckpt.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['BF16']));
    // Init scales: linears ≈ 1/√fan_in, norm weights ≈ 1, so activations stay sane.
    const stats = async (name: string): Promise<{ mean: number; std: number }> => {
      const { data } = await ckpt.readFloat32(name);
      const mean = data.reduce((a, b) => a + b, 0) / data.length;
      const std = Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length);
      return { mean, std };
    };
    const down = await stats(WEIGHTS.decoderLayer(1).down);
    expect(Math.abs(down.std * Math.sqrt(160) - 1)).toBeLessThan(0.05);
    const norm = await stats(WEIGHTS.visionBlock(1).norm2.weight);
    expect(Math.abs(norm.mean - 1)).toBeLessThan(0.01);
    // Another seed gives other weights.
    const other = await SafetensorsCheckpoint.open(openCheckpointLocation(COMMITTED));
    expect((await ckpt.read(WEIGHTS.lmHead)).bytes).not.toEqual((await other.read(WEIGHTS.lmHead)).bytes);
  });
});

describe('presets', () => {
  it('8b config.json and generation_config.json are the real files (852 and 111 bytes) and parse to the 8B spec', () => {
    const text = toPythonJson(presetConfigJson('8b'));
    expect(new TextEncoder().encode(text).byteLength).toBe(852);
    expect(text).toContain('"rms_norm_eps": 1e-05,');
    expect(new TextEncoder().encode(toPythonJson(generationConfigJson())).byteLength).toBe(111);
    expect(parseModelConfig(JSON.parse(text)).text).toMatchObject({ hiddenSize: 4096, numLayers: 32, vocabSize: 102400 });
  });

  it('14b config lists the 13B text sizes and a 5120 projector', () => {
    const spec = parseModelConfig(presetConfigJson('14b'));
    expect(spec.text).toMatchObject({ hiddenSize: 5120, intermediateSize: 13824, numLayers: 40, numHeads: 40, numKvHeads: 40 });
    expect(spec.vision.outHiddenSize).toBe(5120);
  });

  it('a depth override keeps the 8b config verbatim but for the two layer counts, and rejects a count that is no layer count', async () => {
    const config = presetConfigJson('8b', { textLayers: 4, visionDepth: 2 });
    const real = presetConfigJson('8b') as { text_config: Record<string, unknown>; vision_config: Record<string, unknown> };
    expect(config).toEqual({ ...real, text_config: { ...real.text_config, num_hidden_layers: 4 }, vision_config: { ...real.vision_config, depth: 2 } });
    const spec = parseModelConfig(config);
    expect(spec.text).toMatchObject({ hiddenSize: 4096, intermediateSize: 11008, numLayers: 4, vocabSize: 102400 });
    expect(spec.vision).toMatchObject({ depth: 2, embedDim: 1280, outHiddenSize: 4096 });
    await expect(writeRandomCheckpoint(join(dir, 'bad-depth'), { preset: 'tiny', seed: 0, depth: { textLayers: 0 } })).rejects.toMatchObject({ code: 'invalid-request' });
    await expect(writeRandomCheckpoint(join(dir, 'bad-depth'), { preset: 'tiny', seed: 0, depth: { visionDepth: 1.5 } })).rejects.toMatchObject({ code: 'invalid-request' });
  });

  it('8b shards stay under 5 GB, in order, covering every tensor once', () => {
    const spec = parseModelConfig(presetConfigJson('8b'));
    const tensors = [...checkpointTensorShapes(spec)].map(([name, shape]) => randomBf16Tensor(spec, name, shape, 0));
    const limit = PRESETS['8b'].maxShardBytes ?? 0;
    const shards = planShards(tensors, limit);
    expect(shards.length).toBe(4);
    for (const shard of shards) expect(shard.reduce((s, t) => s + tensorSizeBytes(t), 0)).toBeLessThanOrEqual(limit);
    expect(shards.flat().map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    expect(shards.flat().reduce((s, t) => s + tensorSizeBytes(t), 0)).toBe(7_993_521_664 * 2);
  });

  it('formats floats like Python repr', () => {
    expect([1e-5, 1e-6, 0.5, 1 / 255, 0.0001, 1.5e16, 2.5].map(pythonFloatRepr)).toEqual(['1e-05', '1e-06', '0.5', '0.00392156862745098', '0.0001', '1.5e+16', '2.5']);
  });
});

describe('committed Hugging Face fixtures for the tiny checkpoint', () => {
  interface CaseFixture {
    readonly name: string;
    readonly grids: readonly (readonly [number, number, number])[];
    readonly inputIds: readonly number[];
    readonly firstLogits: { readonly file: string; readonly shape: readonly number[] };
    readonly imageFeatures?: { readonly file: string; readonly shape: readonly number[] };
    readonly greedy: { readonly tokens: readonly number[]; readonly top2: readonly (readonly number[])[]; readonly margins: readonly number[] };
  }
  const FIXTURES = join(import.meta.dirname, '../reference/fixtures/tiny');
  const CASES = ['text-en', 'text-ja', 'image-ja', 'image-large-en', 'two-images-en'];

  it('agree with the checkpoint: prompt layout, feature and logit sizes, greedy step 1 = argmax of the saved logits', async () => {
    const spec = parseModelConfig(JSON.parse(await readFile(join(COMMITTED, 'config.json'), 'utf8')));
    for (const name of CASES) {
      const fixture = JSON.parse(await readFile(join(FIXTURES, name, 'case.json'), 'utf8')) as CaseFixture;
      const ids = fixture.inputIds;
      expect(ids[0], name).toBe(spec.tokens.bos);
      const merge = spec.vision.spatialMergeSize ** 2;
      const imageTokens = fixture.grids.reduce((sum, [t, h, w]) => sum + (t * h * w) / merge, 0);
      expect(ids.filter((id) => id === spec.tokens.image).length, name).toBe(imageTokens);
      // One <|prefix|> <|file|>×n <|suffix|> run per image, right after <s>.
      let position = 1;
      for (const [t, h, w] of fixture.grids) {
        const n = (t * h * w) / merge;
        expect(ids.slice(position, position + n + 2), name).toEqual([spec.tokens.imageStart, ...new Array<number>(n).fill(spec.tokens.image), spec.tokens.imageEnd]);
        position += n + 2;
      }
      expect(ids.includes(spec.tokens.imageStart), name).toBe(fixture.grids.length > 0);
      const logits = new Float32Array((await readFile(join(FIXTURES, name, fixture.firstLogits.file))).buffer.slice(0));
      expect(logits.length).toBe(spec.text.vocabSize);
      let best = 0;
      for (let i = 1; i < logits.length; i++) if ((logits[i] ?? -Infinity) > (logits[best] ?? -Infinity)) best = i;
      expect(fixture.greedy.tokens[0], name).toBe(best);
      expect(fixture.greedy.tokens.length).toBe(32);
      expect(Math.min(...fixture.greedy.margins), name).toBeGreaterThan(1e-3);
      if (fixture.imageFeatures) {
        expect(fixture.imageFeatures.shape).toEqual([imageTokens, spec.text.hiddenSize]);
        const bytes = await readFile(join(FIXTURES, name, fixture.imageFeatures.file));
        expect(bytes.byteLength).toBe(imageTokens * spec.text.hiddenSize * 4);
      }
    }
  });
});
