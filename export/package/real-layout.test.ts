// The README's "real model" steps on a checkpoint laid out like sbintuitions/sarashina2-vision-8b (random tiny
// weights; the small files in the real repo's likely form: shared/reference/sarashina2-vision-real-files.md):
// export once per variant, host the folder over HTTP, and everything the engine does before the download — the
// variant index, the variant for an adapter, the tokenizer and chat template from the hosted files.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseVariant, type PlanCapabilities } from '../../src/model/package-plan';
import { TextProcessor } from '../../src/processor/text/text-processor';
import { SARASHINA_CHAT_TEMPLATE } from '../../src/processor/text/sarashina-chat-template';
import { parseManifest } from '../../src/protocol/manifest';
import { parseVariantIndex } from '../../src/protocol/variant-index';
import { startRangeFileServer } from '../../src/testing/range-file-server';
import { writeRandomCheckpoint } from '../random/random-checkpoint';
import { exportPackage } from './export-package';
import { exportVariants } from './export-variants';

const FIXTURES = new URL('../reference/fixtures/', import.meta.url);
const fixtureJson = async (path: string): Promise<unknown> => JSON.parse(await readFile(new URL(path, FIXTURES), 'utf8'));

/** A desktop adapter without shader-f16 (Chrome on Linux/NVIDIA). */
const adapter: PlanCapabilities = {
  isFallbackAdapter: false,
  shaderF16: false,
  subgroupMinSize: 32,
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 30,
};

let dir: string;
let ckpt: string;
/** chat_template.json as transformers' ProcessorMixin writes it: indent 2, sorted keys, a final newline. */
const chatTemplateJson = `${JSON.stringify({ chat_template: SARASHINA_CHAT_TEMPLATE }, null, 2)}\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'real-layout-'));
  ckpt = join(dir, 'sarashina2-vision-8b');
  await writeRandomCheckpoint(ckpt, { preset: 'tiny', seed: 11 });
  const variants = (await fixtureJson('real-files/tokenizer-variants.json')) as { variants: { name: string; tokenizer: string; tokenizerConfig: unknown }[] };
  const likely = variants.variants.find((v) => v.name === 'llama-likely-8b' && v.tokenizer === 'tokenizer-tiny');
  await writeFile(join(ckpt, 'tokenizer_config.json'), `${JSON.stringify(likely?.tokenizerConfig, null, 2)}\n`);
  await copyFile(new URL('processor-text/tokenizer-tiny/special_tokens_map.json', FIXTURES), join(ckpt, 'special_tokens_map.json'));
  await writeFile(join(ckpt, 'chat_template.json'), chatTemplateJson);
  const preprocessor = JSON.parse(await readFile(join(ckpt, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(
    join(ckpt, 'preprocessor_config.json'),
    JSON.stringify({
      ...preprocessor,
      auto_map: { AutoProcessor: 'processing_sarashina2_vision.Sarashina2VisionProcessor' },
      image_processor_type: 'Sarashina2VisionImageProcessor',
      processor_class: 'Sarashina2VisionProcessor',
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the real repo layout, step by step as the README says', () => {
  it('without the processing code the image processor is refused, naming the file and field, and nothing is written', async () => {
    await expect(exportPackage(ckpt, join(dir, 'refused'), { precision: 'q4f32' })).rejects.toMatchObject({
      code: 'invalid-model',
      details: { file: 'preprocessor_config.json', field: 'image_processor_type' },
    });
    await expect(readFile(join(dir, 'refused', 'manifest.json'))).rejects.toThrow();
  });

  it('exports both int4 variants, hosts them, and the engine plans from the hosted files', async () => {
    // The 8B's processor code is written for transformers 4.47's PIL path (a stand-in: what decides is the `resample` use).
    await writeFile(join(ckpt, 'processing_sarashina2_vision.py'), 'images = [resize(image, size=(h, w), resample=resample) for image in images]\n');
    const out = join(dir, 'models', 'sarashina2-vision-8b');
    await exportVariants(ckpt, out, { precisions: ['q4f16', 'q4f32'] });
    const server = await startRangeFileServer(join(dir, 'models'), 'models');
    try {
      const base = `${server.url}sarashina2-vision-8b/`;
      const get = async (path: string): Promise<Response> => {
        const response = await fetch(new URL(path, base));
        expect(response.status, path).toBe(200);
        return response;
      };
      const index = parseVariantIndex(await (await get('variants.json')).json());
      expect(index.imageProcessor.pipeline).toBe('qwen2-vl');
      const choice = chooseVariant(index, adapter);
      expect(choice.precision).toBe('q4f32');
      const manifest = parseManifest(await (await get(choice.entry.manifest.path)).json());
      const folder = choice.entry.path.replace(/\/?$/, '/');
      const file = async (path: string): Promise<string> => (await get(`${folder}${path}`)).text();
      // The chat template and tokenizer_config.json arrive byte for byte as the checkpoint has them.
      expect(await file(manifest.tokenizer.chatTemplate?.path ?? '')).toBe(chatTemplateJson);
      expect(await file(manifest.tokenizer.tokenizerConfig.path)).toBe(await readFile(join(ckpt, 'tokenizer_config.json'), 'utf8'));
      const processor = TextProcessor.fromFiles({
        tokenizerJson: JSON.parse(await file(manifest.tokenizer.tokenizer.path)),
        tokenizerConfig: JSON.parse(await file(manifest.tokenizer.tokenizerConfig.path)),
        chatTemplate: JSON.parse(await file(manifest.tokenizer.chatTemplate?.path ?? '')),
        specialTokens: manifest.model.tokens,
      });
      // transformers 5.17 renders this template for these files (tokenizer-variants.json, llama-likely-8b); the
      // ids are tokenizer.json's Unigram ones (README: transformers 5.17's LlamaTokenizer would differ).
      const fixture = (await fixtureJson('real-files/tokenizer-variants.json')) as {
        variants: { name: string; tokenizer: string; chat: { messages: { role: 'user'; content: string }[]; text: string; idsNoSpecial: number[] } }[];
      };
      const likely = fixture.variants.find((v) => v.name === 'llama-likely-8b' && v.tokenizer === 'tokenizer-tiny');
      const unigram = fixture.variants.find((v) => v.name === 'fast-as-generated' && v.tokenizer === 'tokenizer-tiny');
      const prompt = processor.encodePrompt({ messages: likely?.chat.messages ?? [], imageTokenCounts: [] });
      expect(prompt.text).toBe(likely?.chat.text.replace('<|prefix|><|file|><|suffix|>', ''));
      expect(processor.tokenizer.encodePrompt(likely?.chat.text ?? '')).toEqual(unigram?.chat.idsNoSpecial);
    } finally {
      await server.close();
    }
  });
});
