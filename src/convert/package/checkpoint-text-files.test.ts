import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCheckpointTextFiles } from './checkpoint-text-files';
import { openDirectoryCheckpoint } from '../node-checkpoint-source';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function checkpoint(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ckpt-text-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const decode = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));
// A template with characters JSON escapes differently across writers (quotes, newlines, non-ASCII).
const TEMPLATE = "{{ bos_token }}{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}\n{% endfor %}「答え」\\n";

describe('readCheckpointTextFiles', () => {
  it('copies tokenizer.json, tokenizer_config.json and chat_template.json byte for byte', async () => {
    const json = `{\n  "chat_template": ${JSON.stringify(TEMPLATE)}\n}\n`;
    const config = '{"bos_token": "<s>", "added_tokens_decoder": {}, "chat_template": "ignored"}';
    const dir = await checkpoint({ 'tokenizer.json': '{"model":{}}', 'tokenizer_config.json': config, 'chat_template.json': json, 'chat_template.jinja': 'ignored' });
    const files = await readCheckpointTextFiles(openDirectoryCheckpoint(dir));
    expect(decode(files.tokenizerBytes)).toBe('{"model":{}}');
    expect(decode(files.tokenizerConfigBytes)).toBe(config);
    expect(decode(files.chatTemplateBytes)).toBe(json);
    expect(files.chatTemplateSource).toBe('chat_template.json');
  });

  it('takes chat_template.jinja as written when there is no chat_template.json', async () => {
    const dir = await checkpoint({ 'tokenizer.json': '{}', 'tokenizer_config.json': '{"chat_template": "other"}', 'chat_template.jinja': TEMPLATE });
    const files = await readCheckpointTextFiles(openDirectoryCheckpoint(dir));
    expect((JSON.parse(decode(files.chatTemplateBytes) ?? '') as { chat_template: string }).chat_template).toBe(TEMPLATE);
    expect(files.chatTemplateSource).toBe('chat_template.jinja');
  });

  it('leaves a template only in tokenizer_config.json there', async () => {
    const config = JSON.stringify({ bos_token: '<s>', chat_template: TEMPLATE });
    const files = await readCheckpointTextFiles(openDirectoryCheckpoint(await checkpoint({ 'tokenizer.json': '{}', 'tokenizer_config.json': config })));
    expect(files.chatTemplateBytes).toBeNull();
    expect(decode(files.tokenizerConfigBytes)).toBe(config);
    expect(files.chatTemplateSource).toBe('tokenizer_config.json');
  });

  it('builds the config from special_tokens_map.json when tokenizer_config.json is missing', async () => {
    const map = JSON.stringify({ bos_token: { content: '<s>', lstrip: false }, eos_token: '</s>' });
    const files = await readCheckpointTextFiles(openDirectoryCheckpoint(await checkpoint({ 'tokenizer.json': '{}', 'special_tokens_map.json': map })));
    expect(JSON.parse(decode(files.tokenizerConfigBytes) ?? '')).toEqual({ bos_token: '<s>', eos_token: '</s>' });
  });

  it('names the file that is missing or broken', async () => {
    await expect(readCheckpointTextFiles(openDirectoryCheckpoint(await checkpoint({ 'tokenizer_config.json': '{}' })))).rejects.toMatchObject({
      code: 'invalid-model',
      details: { file: 'tokenizer.json' },
    });
    await expect(readCheckpointTextFiles(openDirectoryCheckpoint(await checkpoint({ 'tokenizer.json': '{}', 'chat_template.json': '{"chat_template": 3}' })))).rejects.toMatchObject({
      code: 'invalid-model',
      details: { file: 'chat_template.json', field: 'chat_template' },
    });
    await expect(readCheckpointTextFiles(openDirectoryCheckpoint(await checkpoint({ 'tokenizer.json': '{}', 'tokenizer_config.json': '[1]' })))).rejects.toMatchObject({
      code: 'invalid-model',
      details: { file: 'tokenizer_config.json' },
    });
  });
});
