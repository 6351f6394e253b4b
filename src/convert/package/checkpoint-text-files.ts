/**
 * The tokenizer and chat-template files of a checkpoint, read as transformers reads them and written into the
 * package in the form the engine takes as is (rules and their fixtures: src/processor/text/tokenizer-config.ts):
 *
 * - tokenizer.json: required, copied byte for byte.
 * - tokenizer_config.json: copied byte for byte when present and special_tokens_map.json changes nothing;
 *   otherwise the effective config (special_tokens_map.json laid over it, or alone when the config is missing).
 * - chat_template.json: the template `processor.apply_chat_template` uses (chat_template.json, else
 *   chat_template.jinja), the template string unchanged; a chat_template.json is copied byte for byte.
 */
import { effectiveTokenizerConfig, resolveChatTemplate } from '../../processor/text/tokenizer-config';
import type { CheckpointSource } from '../checkpoint-source';
import { parseJsonFile, requireSourceFile } from './source-files';

export interface CheckpointTextFiles {
  readonly tokenizerBytes: Uint8Array;
  readonly tokenizerConfigBytes: Uint8Array;
  readonly chatTemplateBytes: Uint8Array | null;
  /** Where the package's template came from, for the export log. */
  readonly chatTemplateSource: string | null;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Reads and resolves the files; a malformed file is an `invalid-model` SarashinaError naming it. */
export async function readCheckpointTextFiles(source: CheckpointSource, signal?: AbortSignal): Promise<CheckpointTextFiles> {
  const tokenizerBytes = await requireSourceFile(source, 'tokenizer.json', signal);
  parseJsonFile(tokenizerBytes, 'tokenizer.json');
  const configBytes = await source.readFile('tokenizer_config.json', signal);
  const config = configBytes ? parseJsonFile(configBytes, 'tokenizer_config.json') : undefined;
  const mapBytes = await source.readFile('special_tokens_map.json', signal);
  const map = mapBytes ? parseJsonFile(mapBytes, 'special_tokens_map.json') : undefined;
  const effective = effectiveTokenizerConfig(config, map);
  const unchanged = configBytes !== null && JSON.stringify(effective) === JSON.stringify(config);
  const tokenizerConfigBytes = unchanged && configBytes ? configBytes : utf8(`${JSON.stringify(effective, null, 2)}\n`);

  const jsonBytes = await source.readFile('chat_template.json', signal);
  const jinjaBytes = await source.readFile('chat_template.jinja', signal);
  const resolved = resolveChatTemplate({
    ...(jsonBytes ? { chatTemplateJson: parseJsonFile(jsonBytes, 'chat_template.json') } : {}),
    ...(jinjaBytes ? { chatTemplateJinja: new TextDecoder().decode(jinjaBytes) } : {}),
    tokenizerConfig: effective,
  });
  let chatTemplateBytes: Uint8Array | null = null;
  if (resolved?.source === 'chat_template.json' && jsonBytes) chatTemplateBytes = jsonBytes;
  else if (resolved?.source === 'chat_template.jinja') chatTemplateBytes = utf8(`${JSON.stringify({ chat_template: resolved.template }, null, 2)}\n`);
  // A template only in tokenizer_config.json stays there: the engine reads it from the package's config.
  return { tokenizerBytes, tokenizerConfigBytes, chatTemplateBytes, chatTemplateSource: resolved?.source ?? null };
}
