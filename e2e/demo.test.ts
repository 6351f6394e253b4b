/**
 * The demo as `npm start` serves it (Vite dev server, vite.config.ts, the default model exported by the
 * prestart step) in Chromium on SwiftShader: a chat with an image through <sarashina-chat> (streamed answer,
 * timings shown), the built-in model's sample pictures and suggested questions (answered right), a settings change
 * that recreates the engine, and the diagnostics section.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSamples } from '../demo/samples';
import { askDemo, sendDemo, waitEngineReady } from './demo-page';
import { type DemoServer, startDevServer } from './demo-server';
import { CHROMIUM_ARGS, chromiumPath, REPO_ROOT } from './harness';

const OUTPUT = join(REPO_ROOT, 'e2e/output');
const IMAGE = join(REPO_ROOT, 'export/reference/fixtures/tiny/images/gradient-disc-90x60.png');

describe('demo page (npm start)', () => {
  let server: DemoServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    server = await startDevServer();
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    if (process.env.DEMO_DEBUG) page.on('console', (m) => console.log(`console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`http ${r.status()}: ${r.url()}`);
    });
    await page.goto(`${server.baseUrl}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads the default model and answers a message with an image, streamed, with timings shown', async () => {
    const status = await waitEngineReady(page);
    expect(status).toMatch(/q4f32/);
    await page.screenshot({ path: join(OUTPUT, 'demo-ready.png'), fullPage: true });
    const answer = await askDemo(page, 'この画像を説明してください。', IMAGE);
    expect(answer.tokenEvents).toBeGreaterThan(1);
    expect(answer.messageContent.length).toBeGreaterThan(0);
    expect(answer.text.trim().length).toBeGreaterThan(0);
    expect(answer.metrics.ttft).toMatch(/^\d+ ms$/);
    expect(answer.metrics['image-encode']).toMatch(/^\d+ ms$/);
    expect(Number(answer.metrics['image-encode']?.split(' ')[0])).toBeGreaterThan(0);
    expect(answer.metrics['tokens-per-second']).toMatch(/^[\d.]+ tok\/s$/);
    expect(Number(answer.metrics.tokens)).toBeGreaterThan(0);
    await page.screenshot({ path: join(OUTPUT, 'demo-answer.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('offers the built-in model\'s sample pictures and suggested questions; clicked, they are answered right', async () => {
    await waitEngineReady(page);
    expect(await page.isVisible('#samples')).toBe(true);
    expect(await page.textContent('#samples-about')).toContain('simple shapes');
    const samples = demoSamples();
    expect(await page.locator('.sample-picture img').count()).toBe(samples.length);
    const [first, second] = samples;
    if (!first || !second) throw new Error('the demo has fewer than two samples');
    // A picture, then one of its questions: the chat so far (the previous test's) is cleared, the picture attached.
    await page.click(`.sample-picture[data-sample="${first.index}"]`);
    await page.waitForSelector('sarashina-chat .thumbs img');
    const q1 = first.questions[0];
    await page.click(`.suggestion[data-sample="${first.index}"] >> nth=0`);
    expect(await page.inputValue('sarashina-chat textarea')).toBe(q1?.question);
    const a1 = await sendDemo(page);
    expect(await page.locator('sarashina-chat .msg.user').count()).toBe(1);
    expect(await page.locator('sarashina-chat .msg.user img').count()).toBe(1);
    // A follow-up suggestion about the same picture: text only, in the same chat.
    const q2 = first.questions[1];
    await page.click(`.suggestion[data-sample="${first.index}"] >> nth=1`);
    expect(await page.locator('sarashina-chat .thumbs img').count()).toBe(0);
    const a2 = await sendDemo(page);
    expect(await page.locator('sarashina-chat .msg.user').count()).toBe(2);
    // Another sample's question directly: a new chat with that picture.
    const q3 = second.questions[0];
    await page.click(`.suggestion[data-sample="${second.index}"] >> nth=0`);
    await page.waitForSelector('sarashina-chat .thumbs img');
    const a3 = await sendDemo(page);
    expect(await page.locator('sarashina-chat .msg.user').count()).toBe(1);
    await page.screenshot({ path: join(OUTPUT, 'demo-samples.png'), fullPage: true });
    expect([a1.text.trim(), a2.text.trim(), a3.text.trim()]).toEqual([q1?.answer, q2?.answer, q3?.answer]);
    expect(errors).toEqual([]);
  });

  it('a settings change recreates the engine with the new settings, which then answers', async () => {
    await page.evaluate(() => {
      const w = window as unknown as { readyInfos: unknown[] };
      w.readyInfos = [];
      document.querySelector('sarashina-chat')?.addEventListener('ready', (e) => w.readyInfos.push((e as CustomEvent).detail));
    });
    await page.click('#settings-panel summary');
    await page.fill('#settings input[name=contextTokens]', '512');
    await page.fill('#settings input[name=maxTokens]', '6');
    await page.click('#settings-apply');
    await waitEngineReady(page, 'context 512', 60_000);
    // Still the built-in model: its samples stay.
    expect(await page.isVisible('#samples')).toBe(true);
    await page.screenshot({ path: join(OUTPUT, 'demo-settings.png'), fullPage: true });
    const infos = await page.evaluate(() => (window as unknown as { readyInfos: { contextTokens: number }[] }).readyInfos);
    expect(infos.map((i) => i.contextTokens)).toEqual([512]);
    expect(await page.getAttribute('sarashina-chat', 'context-tokens')).toBe('512');
    const answer = await askDemo(page, 'もう一度お願いします。');
    expect(Number(answer.metrics.tokens)).toBeLessThanOrEqual(6);
    expect(answer.tokenEvents).toBeGreaterThan(0);
    // Kept for the next visit.
    await page.reload();
    await waitEngineReady(page, 'context 512');
    expect(await page.inputValue('#settings input[name=contextTokens]')).toBe('512');
    expect(errors).toEqual([]);
  });

  it('diagnostics show the adapter capabilities and a passing interop check', async () => {
    await page.click('#diagnostics-panel summary');
    await page.waitForFunction(() => /OK|FAILED/.test(document.querySelector('#interop')?.textContent ?? ''), undefined, { timeout: 120_000 });
    expect(await page.textContent('#interop')).toMatch(/^OK/);
    expect(await page.textContent('#caps')).toContain('subgroups');
    await page.screenshot({ path: join(OUTPUT, 'demo-diagnostics.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
