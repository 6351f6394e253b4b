/**
 * Writes a random Sarashina2-Vision checkpoint in the exact Hugging Face layout, deterministic from
 * a seed: config.json (real diff format), generation_config.json, preprocessor_config.json, the
 * tokenizer files, and bf16 weights — one model.safetensors for tiny, ~5 GB shards plus
 * model.safetensors.index.json for 8b/14b. Weights are streamed, so memory stays at a few chunks.
 */

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SarashinaError } from '../../src/protocol/errors';
import { checkpointTensorShapes } from '../../src/protocol/weight-names';
import { parseModelConfig } from '../../src/convert/hf-config';
import { INDEX_FILE_NAME, SINGLE_FILE_NAME } from '../../src/convert/safetensors/safetensors-checkpoint';
import { tensorSizeBytes, writeSafetensorsFile, type TensorToWrite } from '../safetensors/safetensors-writer';
import { toPythonJson } from './python-json';
import { type DepthOverride, generationConfigJson, isRandomPreset, preprocessorConfigJson, presetConfigJson, PRESETS, type RandomPreset } from './random-presets';
import { randomBf16Tensor } from './random-weights';
import { buildTokenizerFiles } from './tokenizer-files';

export interface RandomCheckpointOptions {
  readonly preset: RandomPreset;
  /** Unsigned 32-bit seed; the same seed and preset give byte-identical files. */
  readonly seed: number;
  /** Fewer decoder layers / vision blocks than the preset (full width kept); config.json lists them. */
  readonly depth?: DepthOverride;
  /** Called after each weight file with its name and the bytes written so far. */
  readonly onProgress?: (progress: { readonly file: string; readonly writtenBytes: number; readonly totalBytes: number }) => void;
}

export interface RandomCheckpointResult {
  /** Every file written, relative to the directory. */
  readonly files: readonly string[];
  /** Sum of the tensors' data bytes (the index's metadata.total_size). */
  readonly weightBytes: number;
}

/**
 * Groups tensors into shards the way transformers' `shard_checkpoint` does: in order, a new
 * shard starts when the next tensor would push the current one past `maxShardBytes`.
 */
export function planShards(tensors: readonly TensorToWrite[], maxShardBytes: number): TensorToWrite[][] {
  const shards: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let size = 0;
  for (const t of tensors) {
    const bytes = tensorSizeBytes(t);
    if (current.length > 0 && size + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/** Writes the checkpoint into `dir` (created if needed; existing files of the same names are replaced). */
export async function writeRandomCheckpoint(dir: string, options: RandomCheckpointOptions): Promise<RandomCheckpointResult> {
  const { preset, seed } = options;
  if (!isRandomPreset(preset)) throw new SarashinaError('invalid-request', `Unknown preset ${JSON.stringify(preset)}. Use tiny, odd, 8b or 14b.`, { preset: String(preset) });
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new SarashinaError('invalid-request', `Seed ${seed} is not an unsigned 32-bit integer. Pass a whole number from 0 to 4294967295.`, { seed });
  await mkdir(dir, { recursive: true });
  const dims = PRESETS[preset];
  for (const [field, value] of Object.entries(options.depth ?? {})) {
    if (!Number.isInteger(value) || value < 1) throw new SarashinaError('invalid-request', `depth.${field} ${value} is not a positive whole number of layers.`, { field, value });
  }
  const config = presetConfigJson(preset, options.depth);
  // The generator's own config goes through the same parser the exporter uses, so the weights'
  // shapes are exactly what the exporter will expect.
  const spec = parseModelConfig(config);
  const textFiles: Record<string, string> = {
    'config.json': toPythonJson(config),
    'generation_config.json': toPythonJson(generationConfigJson()),
    'preprocessor_config.json': toPythonJson(preprocessorConfigJson(preset)),
    ...buildTokenizerFiles({ vocabSize: dims.text.vocabSize, imageStartId: dims.imageStartId, imageEndId: dims.imageEndId, seed }),
  };
  const files: string[] = [];
  for (const [name, text] of Object.entries(textFiles)) {
    await writeFile(join(dir, name), text);
    files.push(name);
  }

  const tensors = [...checkpointTensorShapes(spec)].map(([name, shape]) => randomBf16Tensor(spec, name, shape, seed));
  const totalBytes = tensors.reduce((sum, t) => sum + tensorSizeBytes(t), 0);
  const shards = dims.maxShardBytes === null ? [tensors] : planShards(tensors, dims.maxShardBytes);
  const shardName = (i: number): string => (shards.length === 1 && dims.maxShardBytes === null ? SINGLE_FILE_NAME : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
  // A stale single file or index from another preset would make the directory ambiguous.
  await rm(join(dir, dims.maxShardBytes === null ? INDEX_FILE_NAME : SINGLE_FILE_NAME), { force: true });
  let written = 0;
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const file = shardName(i);
    await writeSafetensorsFile(join(dir, file), shard, { metadata: { format: 'pt' } });
    for (const t of shard) {
      weightMap[t.name] = file;
      written += tensorSizeBytes(t);
    }
    files.push(file);
    options.onProgress?.({ file, writtenBytes: written, totalBytes });
  }
  if (dims.maxShardBytes !== null) {
    await writeFile(join(dir, INDEX_FILE_NAME), toPythonJson({ metadata: { total_size: totalBytes }, weight_map: weightMap }));
    files.push(INDEX_FILE_NAME);
  }
  return { files, weightBytes: totalBytes };
}
