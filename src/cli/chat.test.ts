/**
 * The chat CLI as a user runs it (a child process through vite-node, WebGPU through Dawn on the test adapter, whose
 * VK_ICD_FILENAMES the child inherits) on the tiny fp32 package: its --dump equals the Hugging Face fixture (prompt ids,
 * first logits, greedy tokens) also with a --system message, which Sarashina's template leaves out (so the prompt ids
 * are still Hugging Face's) and stderr says so; bad arguments exit with 2 and the usage line.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../../export/package/export-package';
import { compareArrays } from '../testing/compare';
import { TEST_ADAPTERS, testAdapter, testAdapterEnv } from '../testing/node-gpu';
import { greedyCheckedSteps, loadCase } from '../testing/package-runner';
import { parseChatArgs } from './chat-args';
import { truncationNote } from './truncation-note';

const FIXTURES = 'export/reference/fixtures/tiny';
const run = promisify(execFile);
let dir = '';

function chat(args: string[], env: NodeJS.ProcessEnv = { ...process.env, ...testAdapterEnv() }): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--liftoff-only', 'node_modules/vite-node/dist/cli.mjs', 'src/cli/chat.ts', '--', ...args], { timeout: 120_000, env });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chat-cli-'));
  await exportPackage(join(FIXTURES, 'checkpoint'), join(dir, 'fp32'), { precision: 'fp32' });
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run chat', () => {
  it('--dump matches the HF fixture (image-ja); a --system message is left out by the template and stderr warns', async () => {
    const { c, logits } = await loadCase(FIXTURES, 'image-ja');
    const meta = JSON.parse(await readFile(join(FIXTURES, 'image-ja', 'case.json'), 'utf8')) as { prompt: string; images: string[] };
    const dump = join(dir, 'dump.json');
    const images = meta.images.flatMap((f) => ['--image', join(FIXTURES, 'images', f)]);
    const steps = greedyCheckedSteps(c.greedy);
    const { stdout, stderr } = await chat(['--model', join(dir, 'fp32'), ...images, '--prompt', meta.prompt, '--system', '簡潔に答えてください。', '--max-new-tokens', String(steps), '--dump', dump]);
    expect(stdout.length).toBeGreaterThan(0);
    // The CLI names its adapter on stderr: the child ran on the test adapter, not on whichever Dawn prefers.
    expect(stderr.toLowerCase()).toContain(TEST_ADAPTERS[testAdapter()].identity);
    expect(stderr).toMatch(/\[warning system-message-ignored\] 1 system message\(s\) were not given to the model/);
    const out = JSON.parse(await readFile(dump, 'utf8')) as { inputIds: number[]; firstLogits: number[]; generatedIds: number[] };
    expect(out.inputIds).toEqual(c.inputIds);
    expect(out.firstLogits.length).toBe(logits.length);
    const stats = compareArrays(out.firstLogits, logits);
    expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(1e-3);
    expect(out.generatedIds.length).toBeGreaterThan(0);
    expect(out.generatedIds).toEqual(c.greedy.tokens.slice(0, out.generatedIds.length));
  }, 120_000);

  it('without a WebGPU adapter, says how to get one', async () => {
    const env = { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-such-driver.json') };
    await expect(chat(['--model', join(dir, 'fp32'), '--prompt', 'hi'], env)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/webgpu-unavailable[\s\S]*SwiftShader/),
    });
  }, 60_000);

  it('exits with 2 and the usage line on bad arguments, and names the bad line of a --questions file', async () => {
    await expect(chat(['--prompt', 'hi'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('Missing --model') });
    const file = join(dir, 'questions.jsonl');
    await writeFile(file, '{"prompt": "ok"}\n\n{"images": ["a.png"]}\n');
    await expect(chat(['--model', join(dir, 'fp32'), '--questions', file])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('line 3 has no "prompt"') });
  }, 60_000);
});

describe('parseChatArgs', () => {
  it('reads repeated images and numbers', () => {
    const a = parseChatArgs(['--model', 'm', '--image', 'a.png', '--image', 'b.jpg', '--prompt', 'p', '--max-new-tokens', '5', '--temperature', '0.7']);
    expect(a).toMatchObject({ model: 'm', images: ['a.png', 'b.jpg'], prompt: 'p', maxNewTokens: 5, temperature: 0.7 });
    expect(a.system).toBeUndefined();
    expect(parseChatArgs(['--model', 'm', '--prompt', 'p', '--system', 's']).system).toBe('s');
    expect(parseChatArgs(['--model', 'm', '--prompt', 'p', '--memory-budget-gib', '12']).memoryBudgetBytes).toBe(12 * 2 ** 30);
  });

  it('names the bad value', () => {
    expect(() => parseChatArgs(['--model', 'm', '--prompt', 'p', '--max-new-tokens', '0'])).toThrow(/--max-new-tokens must be a positive integer, got 0/);
    expect(() => parseChatArgs(['--model', 'm', '--prompt', 'p', '--temperature', '-1'])).toThrow(/--temperature/);
    expect(() => parseChatArgs(['--model', 'm', '--bogus'])).toThrow(/Usage/);
    expect(() => parseChatArgs(['--model', 'm', '--prompt', 'p', '--memory-budget-gib', '0'])).toThrow(/--memory-budget-gib must be a number > 0, got 0/);
    expect(() => parseChatArgs(['--model', 'm', '--questions', 'q.jsonl', '--prompt', 'p'])).toThrow(/--questions takes its prompts and images from the file/);
    expect(() => parseChatArgs(['--model', 'm', '--questions', 'q.jsonl', '--dump', 'd.json'])).toThrow(/--dump records one request/);
    expect(parseChatArgs(['--model', 'm', '--questions', 'q.jsonl'])).toMatchObject({ questions: 'q.jsonl', images: [], prompt: '' });
  });
});

describe('truncationNote', () => {
  it('says what was left out and shrunk, nothing when nothing was', () => {
    expect(truncationNote(undefined)).toBe('');
    expect(truncationNote({ dropped_messages: 0, dropped_images: 0, resized_images: [] })).toBe('');
    const note = truncationNote({
      dropped_messages: 2,
      dropped_images: 1,
      resized_images: [{ index: 3, width: 392, height: 280, max_pixels: 110000, image_tokens: 140, original_image_tokens: 252 }],
    });
    expect(note).toBe('[context] to fit the context: 2 oldest message(s) left out (1 image(s) with them); image 3 shrunk to 392×280 px (140 image tokens, 252 at the full budget)');
  });
});
