/** The small JSON/text files of a Hugging Face checkpoint, read through its CheckpointSource. */
import { SarashinaError } from '../../protocol/errors';
import type { CheckpointSource } from '../checkpoint-source';

/** Like `source.readFile`, but a missing file is an 'invalid-model' error naming it and the layout expected. */
export async function requireSourceFile(source: CheckpointSource, file: string, signal?: AbortSignal): Promise<Uint8Array> {
  const bytes = await source.readFile(file, signal);
  if (!bytes) {
    throw new SarashinaError(
      'invalid-model',
      `${file} is missing from ${source.description}. A checkpoint needs the Hugging Face layout: config.json, model*.safetensors, tokenizer.json (with tokenizer_config.json or special_tokens_map.json).`,
      { file, source: source.description },
    );
  }
  return bytes;
}

/** Parses JSON bytes, naming the file on failure. */
export function parseJsonFile(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new SarashinaError('invalid-model', `${file} is not valid JSON (${String(cause)}). Download it again.`, { file }, { cause });
  }
}
