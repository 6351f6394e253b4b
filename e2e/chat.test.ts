/**
 * The engine in Chromium (WebGPU on SwiftShader) through the Worker client, on the tiny fp32 package exported
 * into e2e/output (git-ignored, served by the Vite server): a chat with an image (greedy text equal to the
 * Hugging Face fixture's), abort mid-generation, a second turn that reuses the prefix, a typed error across
 * the worker boundary, a system message's warning (Sarashina's template renders none) on the completion and the
 * stream's last chunk, dispose and recreate.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../export/package/export-package';
import type { ChatMessage } from '../src/protocol/api';
import { compareArrays } from '../src/testing/compare';
import { greedyCheckedSteps, type Case } from '../src/testing/package-runner';
import { type E2eSession, REPO_ROOT, startE2e } from './harness';

const FIXTURES = join(REPO_ROOT, 'export/reference/fixtures/tiny');
const PACKAGE_DIR = join(REPO_ROOT, 'e2e/output/chat-package');
const CONTEXT = 256;

describe('chat through the Worker (Chromium)', () => {
  let session: E2eSession;
  let page: Awaited<ReturnType<E2eSession['open']>>['page'];
  let errors: string[];
  const c = JSON.parse(readFileSync(join(FIXTURES, 'image-ja/case.json'), 'utf8')) as Case & { prompt: string; images: string[]; greedy: { text: string } };
  const imageUrl = (name: string): string => `/export/reference/fixtures/tiny/images/${name}`;
  const messages: ChatMessage[] = [
    { role: 'user', content: [{ type: 'image_url', image_url: { url: imageUrl(c.images[0] ?? '') } }, { type: 'text', text: c.prompt }] },
  ];

  beforeAll(async () => {
    await rm(PACKAGE_DIR, { recursive: true, force: true });
    await exportPackage(join(FIXTURES, 'checkpoint'), PACKAGE_DIR, { precision: 'fp32' });
    session = await startE2e();
    ({ page, errors } = await session.open('/e2e/pages/chat.html'));
    await page.waitForFunction(() => typeof window.chatLoad === 'function');
  });

  afterAll(async () => {
    await session?.close();
    await rm(PACKAGE_DIR, { recursive: true, force: true });
  });

  it('loads in the worker with progress, then streams greedy text equal to the HF fixture for an image prompt', async () => {
    const loaded = await page.evaluate(([m, n]) => window.chatLoad(m, n), [`${session.baseUrl}/e2e/output/chat-package/`, CONTEXT] as const);
    expect(loaded.info).toMatchObject({ precision: 'fp32', contextTokens: CONTEXT });
    expect(loaded.phases).toContain('download');
    const steps = greedyCheckedSteps(c.greedy);
    const out = await page.evaluate(([msgs, n]) => window.chatStream(msgs, { maxTokens: n }), [messages, steps] as const);
    expect(out.roleFirst).toBe(true);
    expect(out.usage).toMatchObject({ prompt_tokens: c.inputIds.length, image_tokens: 6, prefilled_tokens: c.inputIds.length });
    expect(out.text.length).toBeGreaterThan(0);
    // Streamed text = HF's decoding of the same greedy tokens (a held partial character may be cut at the end).
    expect(c.greedy.text.startsWith(out.text.replace(/\uFFFD+$/, ''))).toBe(true);
    if (out.finishReason === 'length') expect(out.usage?.completion_tokens).toBe(steps);
  });

  it('prompt ids, first logits and greedy tokens equal the HF fixture (through the worker)', async () => {
    const reference = new Float32Array(readFileSync(join(FIXTURES, 'image-ja/first_logits.f32')).buffer.slice(0));
    const steps = greedyCheckedSteps(c.greedy);
    const out = await page.evaluate(([msgs, n]) => window.chatInspect(msgs, n), [messages, steps] as const);
    expect(out.inputIds).toEqual(c.inputIds);
    const stats = compareArrays(out.firstLogits, reference);
    expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(1e-3);
    expect(out.generatedIds.length).toBeGreaterThan(0);
    expect(out.generatedIds).toEqual(c.greedy.tokens.slice(0, out.generatedIds.length));
    if (out.generatedIds.length < steps) expect(out.finishReason).toBe('stop');
  });

  it('a second turn reuses the prefix', async () => {
    const first = await page.evaluate(([msgs]) => window.chatComplete(msgs, 4), [messages] as const);
    const second: ChatMessage[] = [...messages, { role: 'assistant', content: first.text }, { role: 'user', content: 'ありがとう。もう一度。' }];
    const out = await page.evaluate(([msgs]) => window.chatComplete(msgs, 3), [second] as const);
    expect(out.usage.prefilled_tokens).toBeGreaterThan(0);
    expect(out.usage.prefilled_tokens).toBeLessThan(out.usage.prompt_tokens);
  });

  it('a system message the template leaves out: the warning arrives through the worker, on the stream and the completion', async () => {
    const withSystem: ChatMessage[] = [{ role: 'system', content: '簡潔に答えてください。' }, ...messages];
    const warnings = [{ code: 'system-message-ignored', message: expect.stringContaining('1 system message(s) were not given to the model') }];
    const streamed = await page.evaluate(([msgs]) => window.chatStream(msgs, { maxTokens: 1 }), [withSystem] as const);
    expect(streamed.warnings).toEqual(warnings);
    // The prompt is the user message's alone, as Hugging Face renders it.
    expect(streamed.usage?.prompt_tokens).toBe(c.inputIds.length);
    const completed = await page.evaluate(([msgs]) => window.chatComplete(msgs, 1), [withSystem] as const);
    expect(completed.warnings).toEqual(warnings);
    expect((await page.evaluate(([msgs]) => window.chatComplete(msgs, 1), [messages] as const)).warnings).toBeUndefined();
  });

  it('an ImageBitmap is transferred to the worker and used', async () => {
    const usage = await page.evaluate(([url]) => window.chatBitmap(url, 'What is this?'), [imageUrl('stripes-150x100.png')] as const);
    expect(usage.image_tokens).toBe(20);
  });

  it('aborts mid-generation within one token', async () => {
    const out = await page.evaluate(([msgs]) => window.chatStream(msgs, { maxTokens: 40, abortAfterChunks: 3 }), [messages] as const);
    expect(out.finishReason).toBe('abort');
    // Chunk 1 is the role; chunks 2..3 carry at most one token each; one more token may be in flight.
    expect(out.usage?.completion_tokens ?? Infinity).toBeLessThanOrEqual(4);
  });

  it('a context overflow arrives as a SarashinaError with its code and details', async () => {
    const e = await page.evaluate(([msgs, n]) => window.chatError(msgs, n), [messages, CONTEXT] as const);
    expect(e).toMatchObject({ isSarashinaError: true, code: 'context-overflow', details: { contextTokens: CONTEXT, maxNewTokens: CONTEXT } });
    const bad = await page.evaluate(() => window.chatError([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }], 2));
    expect(bad).toMatchObject({ isSarashinaError: true, code: 'invalid-request' });
    expect(bad?.message).toMatch(/image 0/);
  });

  it('a conversation longer than the context leaves its oldest turn out, reported in usage through the worker', async () => {
    // The first turn's reply alone is longer than the whole context: only leaving that turn (and its image) out fits.
    const long: ChatMessage[] = [...messages, { role: 'assistant', content: 'りんご みかん '.repeat(CONTEXT) }, { role: 'user', content: 'ありがとう。' }];
    const out = await page.evaluate(([msgs]) => window.chatComplete(msgs, 2), [long] as const);
    expect(out.usage.truncation).toMatchObject({ dropped_messages: 2, dropped_images: 1 });
    expect(out.usage.image_tokens).toBe(0);
    expect(out.usage.prompt_tokens + 2).toBeLessThanOrEqual(CONTEXT);
    // The next request, the first turn alone, fits as sent.
    const again = await page.evaluate(([msgs]) => window.chatComplete(msgs, 2), [messages] as const);
    expect(again.usage.truncation).toBeUndefined();
    expect(again.usage.prompt_tokens).toBe(c.inputIds.length);
  });

  it('dispose, then a new engine in a new worker answers again', async () => {
    const afterDispose = await page.evaluate(() => window.chatDispose());
    expect(afterDispose).toMatchObject({ isSarashinaError: true, code: 'invalid-request' });
    await page.evaluate(([m, n]) => window.chatLoad(m, n), [`${session.baseUrl}/e2e/output/chat-package/`, CONTEXT] as const);
    const out = await page.evaluate(([msgs]) => window.chatComplete(msgs, 2), [messages] as const);
    expect(out.usage.completion_tokens).toBe(2);
    await page.evaluate(() => window.chatDispose());
    expect(errors).toEqual([]);
  });
});
