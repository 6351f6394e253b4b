/** Reads the small JSON/text files of a Hugging Face checkpoint from a directory or an http(s) base URL. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SarashinaError } from '../../src/protocol/errors';
import { isUrl } from '../safetensors/byte-source';

export interface SourceFileOptions {
  readonly fetchImpl?: typeof fetch;
}

/** The file's bytes, or null when it does not exist (404 / ENOENT). */
export async function readSourceFile(root: string, file: string, options: SourceFileOptions = {}): Promise<Uint8Array | null> {
  if (isUrl(root)) {
    const url = `${root.replace(/\/+$/, '')}/${file}`;
    let response: Response;
    try {
      response = await (options.fetchImpl ?? fetch)(url);
    } catch (cause) {
      throw new SarashinaError('download-failed', `Could not fetch ${url} (${String(cause)}). Check the URL and the network.`, { url }, { cause });
    }
    if (response.status === 404) return null;
    if (!response.ok) throw new SarashinaError('download-failed', `Fetching ${url} failed with HTTP ${response.status}. Check the URL and access rights.`, { url, status: response.status });
    return new Uint8Array(await response.arrayBuffer());
  }
  try {
    return new Uint8Array(await readFile(join(root, file)));
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ENOENT') return null;
    throw new SarashinaError('invalid-model', `Could not read ${join(root, file)} (${String(cause)}).`, { file: join(root, file) }, { cause });
  }
}

/** Like readSourceFile, but a missing file is an 'invalid-model' error naming it. */
export async function requireSourceFile(root: string, file: string, options: SourceFileOptions = {}): Promise<Uint8Array> {
  const bytes = await readSourceFile(root, file, options);
  if (!bytes) {
    throw new SarashinaError('invalid-model', `${file} is missing from ${root}. Export needs the Hugging Face layout: config.json, model*.safetensors, tokenizer.json (with tokenizer_config.json or special_tokens_map.json).`, { file, source: root });
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
