/**
 * How Hugging Face transformers 5.x reads a checkpoint's tokenizer_config.json, special_tokens_map.json and
 * chat-template files, as rules the exporter and the engine share. Every rule is pinned by a fixture made with
 * transformers itself (export/reference/real_files.py → fixtures/real-files/; tests in tokenizer-config.test.ts):
 *
 * - `add_bos_token` / `add_eos_token` are dropped whenever tokenizer.json exists (tokenization_utils_base:
 *   "if tokenizer_file … pop add_bos_token/add_eos_token"): tokenizer.json's post-processor alone decides
 *   what `tokenizer(text)` adds. (transformers 4.x's LlamaTokenizerFast honoured them; see README "real model".)
 * - special_tokens_map.json is read only when tokenizer_config.json has no `added_tokens_decoder`, and then its
 *   role tokens replace the config's.
 * - `clean_up_tokenization_spaces` is false when absent; true makes `decode` apply `cleanUpTokenizationSpaces`.
 * - `split_special_tokens` in the config has no effect on `tokenizer(text)` (the call passes its own false).
 * - A processor (what `processor.apply_chat_template` uses) takes its template from chat_template.json, else
 *   chat_template.jinja; it never reads tokenizer_config.json's `chat_template` (a tokenizer takes
 *   chat_template.jinja, else tokenizer_config.json's).
 */
import { SarashinaError } from '../../protocol/errors';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Role-token keys of a tokenizer (transformers' SPECIAL_TOKENS_ATTRIBUTES). */
const ROLE_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

/**
 * The tokenizer_config transformers ends up with: `config` (undefined when the file is missing) with
 * special_tokens_map.json's role tokens laid over it when the config has no `added_tokens_decoder`.
 * Throws `invalid-model` when a present file is not a JSON object.
 */
export function effectiveTokenizerConfig(config: unknown, specialTokensMap: unknown): Json {
  if (config !== undefined && !isObject(config)) {
    throw new SarashinaError('invalid-model', 'tokenizer_config.json is not a JSON object: fix or remove the file.', {
      file: 'tokenizer_config.json',
    });
  }
  if (specialTokensMap !== undefined && !isObject(specialTokensMap)) {
    throw new SarashinaError('invalid-model', 'special_tokens_map.json is not a JSON object: fix or remove the file.', {
      file: 'special_tokens_map.json',
    });
  }
  const out: Json = { ...(config ?? {}) };
  if (specialTokensMap === undefined || 'added_tokens_decoder' in out) return out;
  for (const key of ROLE_TOKEN_KEYS) {
    const value = specialTokensMap[key];
    if (typeof value === 'string') out[key] = value;
    else if (isObject(value) && typeof value.content === 'string') out[key] = value.content;
  }
  return out;
}

/** What transformers' `clean_up_tokenization` replaces, in its order (each loses its leading space). */
export const CLEAN_UP_PATTERNS: readonly string[] = [' .', ' ?', ' !', ' ,', " ' ", " n't", " 'm", " 's", " 've", " 're"];

/** transformers' `clean_up_tokenization`: drops the space before `.`, `?`, `!`, `,` and English clitics. */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** The checkpoint's template files, as bytes read (undefined when absent). */
export interface ChatTemplateFiles {
  /** chat_template.json, parsed. */
  readonly chatTemplateJson?: unknown;
  /** chat_template.jinja, as text. */
  readonly chatTemplateJinja?: string;
  /** tokenizer_config.json, parsed (its `chat_template` key). */
  readonly tokenizerConfig?: unknown;
}

export interface ResolvedChatTemplate {
  readonly template: string;
  /** Where it came from; 'tokenizer_config.json' only as the fallback a processor would not take. */
  readonly source: 'chat_template.json' | 'chat_template.jinja' | 'tokenizer_config.json';
}

function templateOf(value: unknown, file: string): string {
  if (typeof value === 'string') return value;
  // A list of named templates ({name, template}): transformers uses the one named "default".
  if (Array.isArray(value)) {
    const named = value.find((t: unknown) => isObject(t) && t.name === 'default' && typeof t.template === 'string');
    if (isObject(named) && typeof named.template === 'string') return named.template;
  }
  throw new SarashinaError(
    'invalid-model',
    `${file} has no usable "chat_template" (a string, or a list with one named "default"): fix the file.`,
    { file, field: 'chat_template' },
  );
}

/**
 * The template `processor.apply_chat_template` renders with, byte for byte: chat_template.json, else
 * chat_template.jinja. Where a checkpoint has neither, transformers' processor has no template and refuses; we fall
 * back to the tokenizer's (tokenizer_config.json's `chat_template`) and return null when there is none either.
 */
export function resolveChatTemplate(files: ChatTemplateFiles): ResolvedChatTemplate | null {
  if (files.chatTemplateJson !== undefined) {
    if (!isObject(files.chatTemplateJson)) {
      throw new SarashinaError('invalid-model', 'chat_template.json is not a JSON object: fix the file.', {
        file: 'chat_template.json',
      });
    }
    return { template: templateOf(files.chatTemplateJson.chat_template, 'chat_template.json'), source: 'chat_template.json' };
  }
  if (files.chatTemplateJinja !== undefined) return { template: files.chatTemplateJinja, source: 'chat_template.jinja' };
  const config = files.tokenizerConfig;
  if (isObject(config) && config.chat_template !== undefined && config.chat_template !== null) {
    return { template: templateOf(config.chat_template, 'tokenizer_config.json'), source: 'tokenizer_config.json' };
  }
  return null;
}
