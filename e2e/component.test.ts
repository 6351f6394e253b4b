/**
 * <sarashina-chat> in Chromium (WebGPU on SwiftShader) on the tiny fp32 package: progress events while it
 * loads, a keyboard-sent chat with an image whose streamed text equals createWorkerEngine's for the same
 * request (greedy), multi-turn with prefix reuse, retry and clear, stop mid-generation, the download screen
 * and its cancel button, dark theme, Markdown/HTML injection rendered as text, and the capability screen in
 * a Chromium where navigator.gpu is really undefined; a failed turn (an undecodable image, a message too long for the
 * context, a stop before any text) goes back to the composer and the next message works. Screenshots go to
 * e2e/output/component-*.png.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../export/package/export-package';
import { chromiumPath, type E2eSession, REPO_ROOT, startE2e } from './harness';

const FIXTURES = join(REPO_ROOT, 'export/reference/fixtures/tiny');
const PACKAGE_DIR = join(REPO_ROOT, 'e2e/output/component-package');
const F16_PACKAGE_DIR = join(REPO_ROOT, 'e2e/output/component-package-q4f16');
const OUTPUT = join(REPO_ROOT, 'e2e/output');
const CONTEXT = 256;
const MAX_TOKENS = 12;

const c = JSON.parse(readFileSync(join(FIXTURES, 'image-ja/case.json'), 'utf8')) as { prompt: string; images: string[] };
const imageName = c.images[0] ?? '';
/** 150×100 → 20 image tokens with the tiny model's processor (6 for the 90×60 fixture image). */
const SECOND_IMAGE = 'stripes-150x100.png';

function shot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(OUTPUT, `component-${name}.png`) });
}

/**
 * Presses Enter in the composer (as a user sends) and waits for the `message` or `error` event it ends with. The
 * events before it (errors included) do not count.
 */
async function sendAndWait(page: Page): Promise<'message' | 'error'> {
  const before = await page.evaluate(() => ({ messages: window.componentEvents().messages.length, errors: window.componentEvents().errors.length }));
  await page.locator('sarashina-chat textarea').press('Enter');
  const handle = await page.waitForFunction(
    (b) => {
      const e = window.componentEvents();
      return e.errors.length > b.errors ? 'error' : e.messages.length > b.messages ? 'message' : false;
    },
    before,
    { timeout: 120_000 },
  );
  return (await handle.jsonValue()) as 'message' | 'error';
}

async function waitForMessages(page: Page, n: number): Promise<void> {
  await page.waitForFunction((k) => window.componentEvents().messages.length >= k || window.componentEvents().errors.length > 0, n, { timeout: 120_000 });
  const events = await page.evaluate(() => window.componentEvents());
  expect(events.errors).toEqual([]);
}

describe('<sarashina-chat> (Chromium)', () => {
  let session: E2eSession;
  let modelUrl: string;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    await rm(PACKAGE_DIR, { recursive: true, force: true });
    await exportPackage(join(FIXTURES, 'checkpoint'), PACKAGE_DIR, { precision: 'fp32' });
    session = await startE2e();
    modelUrl = `${session.baseUrl}/e2e/output/component-package/`;
  });

  afterAll(async () => {
    await session?.close();
    await rm(PACKAGE_DIR, { recursive: true, force: true });
  });

  it('renders model Markdown safely: HTML and script stay text, links only http(s) with rel=noopener', async () => {
    const { page, errors } = await session.open('/e2e/pages/component.html');
    await page.waitForFunction(() => typeof window.markdownProbe === 'function');
    const attack = '<img src=x onerror="window.pwned++"> <script>window.pwned++</script> <iframe src="javascript:window.pwned++"></iframe>';
    const out = await page.evaluate((s) => window.markdownProbe(s), `**太字** と *斜体* と \`<b>code</b>\`\n${attack}\n\n\`\`\`html\n<img src=x onerror="window.pwned++">\n\`\`\`\n\n- [ok](https://example.org/x)\n- [bad](javascript:window.pwned++)\n- <a href="javascript:window.pwned++">a</a>`);
    expect(new Set(out.tags)).toEqual(new Set(['p', 'strong', 'em', 'code', 'br', 'pre', 'ul', 'li', 'a']));
    expect(out.text).toContain(attack);
    expect(out.text).toContain('<img src=x onerror="window.pwned++">');
    expect(out.links).toEqual([{ href: 'https://example.org/x', rel: 'noopener noreferrer', target: '_blank' }]);
    await page.locator('#markdown-probe').screenshot({ path: join(OUTPUT, 'component-markdown.png') });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => window.pwned)).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the capability screen, without downloading, where WebGPU is missing (no adapter; navigator.gpu undefined)', async () => {
    // A Chromium without the WebGPU flags: navigator.gpu exists but has no adapter (Linux without WebGPU).
    const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--no-first-run', '--disable-background-networking'] });
    try {
      const context = await browser.newContext();
      const requested: string[] = [];
      context.on('request', (r) => requested.push(r.url()));
      // The same page from a non-local http origin, not a secure context: there navigator.gpu is really undefined.
      // Requests are answered from the Vite server, so the page is byte for byte the same.
      await context.route(/^http:\/\/insecure\.test\//, async (route) => {
        const url = route.request().url().replace(/^http:\/\/insecure\.test/, session.baseUrl);
        await route.fulfill({ response: await route.fetch({ url }) });
      });
      for (const [origin, gpuType, name] of [
        [session.baseUrl, 'object', 'capability-no-adapter'],
        ['http://insecure.test', 'undefined', 'capability-ja'],
      ] as const) {
        const page = await context.newPage();
        await page.goto(`${origin}/e2e/pages/component.html`);
        await page.waitForFunction(() => typeof window.componentMount === 'function');
        expect(await page.evaluate(() => typeof (navigator as Navigator & { gpu?: unknown }).gpu)).toBe(gpuType);
        await page.evaluate((m) => window.componentMount({ model: m }), modelUrl);
        await page.waitForFunction(() => window.componentEvents().errors.length > 0);
        const events = await page.evaluate(() => window.componentEvents());
        expect(events.errors.map((e) => e.code)).toEqual(['webgpu-unavailable']);
        expect(events.progress).toEqual([]);
        const screen = page.locator('sarashina-chat section.capability');
        expect(await screen.locator('h2').textContent()).toBe('この環境ではモデルを実行できません');
        expect(await screen.locator('li').count()).toBeGreaterThan(1);
        await shot(page, name);
        await page.close();
      }
      expect(requested.filter((u) => u.includes('component-package'))).toEqual([]);
      const page = await context.newPage();
      await page.goto('http://insecure.test/e2e/pages/component.html');
      await page.waitForFunction(() => typeof window.componentMount === 'function');
      await page.evaluate((m) => window.componentMount({ model: m, lang: 'en' }), modelUrl);
      const screen = page.locator('sarashina-chat section.capability');
      await screen.waitFor();
      expect(await screen.locator('h2').textContent()).toBe('This browser or GPU cannot run the model');
      expect(await screen.textContent()).toContain('chrome://flags');
      await shot(page, 'capability-en');
    } finally {
      await browser.close();
    }
  });

  it('a q4f16 package on an adapter without shader-f16 (SwiftShader) shows the capability screen for the missing feature', async () => {
    await rm(F16_PACKAGE_DIR, { recursive: true, force: true });
    await exportPackage(join(FIXTURES, 'checkpoint'), F16_PACKAGE_DIR, { precision: 'q4f16' });
    const { page, errors } = await session.open('/e2e/pages/component.html');
    await page.waitForFunction(() => typeof window.componentMount === 'function');
    const hasF16 = await page.evaluate(async () => (await navigator.gpu.requestAdapter())?.features.has('shader-f16') ?? false);
    expect(hasF16, 'this test needs an adapter without shader-f16').toBe(false);
    const packageRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/component-package-q4f16/')) packageRequests.push(r.url().split('/').pop() ?? '');
    });
    await page.evaluate((m) => window.componentMount({ model: m, 'context-tokens': '256' }), `${session.baseUrl}/e2e/output/component-package-q4f16/`);
    await page.waitForFunction(() => window.componentEvents().errors.length > 0, undefined, { timeout: 120_000 });
    expect((await page.evaluate(() => window.componentEvents())).errors.map((e) => e.code)).toEqual(['gpu-feature-missing']);
    // Refused from the manifest alone (after asking for a variant index the folder does not have): no graph or shard.
    expect(packageRequests.filter((f) => f !== 'variants.json')).toEqual(['manifest.json']);
    const screen = page.locator('sarashina-chat section.capability');
    expect(await screen.locator('p').first().textContent()).toBe('この GPU には、このモデルに必要な機能がありません。');
    await screen.locator('summary').click();
    expect(await screen.locator('details').textContent()).toContain('shader-f16');
    await shot(page, 'capability-f16');
    expect(errors).toEqual([]);
    await page.close();
    await rm(F16_PACKAGE_DIR, { recursive: true, force: true });
  });

  it('shows the download screen with progress, and cancel stops the download', async () => {
    const { page, errors } = await session.open('/e2e/pages/component.html');
    // Hold back the package's weight files so the download screen stays long enough to see and cancel.
    await page.context().route(/component-package\/.*\.(bin|onnx|safetensors|data)$/, async (route) => {
      await new Promise((r) => setTimeout(r, 2500));
      await route.continue().catch(() => undefined);
    });
    await page.waitForFunction(() => typeof window.componentMount === 'function');
    await page.evaluate((m) => window.componentMount({ model: m, 'context-tokens': '256' }), modelUrl);
    const screen = page.locator('sarashina-chat .download');
    await screen.waitFor();
    await page.waitForFunction(() => window.componentEvents().progress.length > 0);
    expect(await screen.locator('[role=progressbar]').getAttribute('aria-valuenow')).toMatch(/^\d+$/);
    expect(await screen.locator('.bytes').textContent()).toMatch(/B \/ .*B/);
    await shot(page, 'download');
    await screen.locator('button.cancel').click();
    await page.waitForFunction(() => window.componentEvents().errors.length > 0);
    const events = await page.evaluate(() => window.componentEvents());
    expect(events.errors.map((e) => e.code)).toEqual(['aborted']);
    expect(events.ready).toBeNull();
    expect(await page.locator('sarashina-chat section.info').textContent()).toContain('キャンセル');
    expect(errors.filter((e) => !e.includes('component-package'))).toEqual([]);
    await page.close();
  });

  it('a wrong model URL shows the load error with a retry button', async () => {
    const { page, errors } = await session.open('/e2e/pages/component.html');
    await page.waitForFunction(() => typeof window.componentMount === 'function');
    await page.evaluate((m) => window.componentMount({ model: m, lang: 'en' }), `${session.baseUrl}/e2e/output/no-such-package/`);
    await page.waitForFunction(() => window.componentEvents().errors.length > 0, undefined, { timeout: 60_000 });
    expect((await page.evaluate(() => window.componentEvents())).errors.map((e) => e.code)).toEqual(['download-failed']);
    const screen = page.locator('sarashina-chat section.error');
    expect(await screen.locator('h2').textContent()).toBe('Could not load the model');
    expect(await screen.locator('p').first().textContent()).toContain('manifest.json');
    await shot(page, 'load-error');
    await screen.locator('button').click();
    await page.waitForFunction(() => window.componentEvents().errors.length > 1, undefined, { timeout: 60_000 });
    expect(errors.filter((e) => !e.includes('no-such-package'))).toEqual([]);
    await page.close();
  });

  it('works from plain markup: the element declared in HTML with attributes loads once and is ready', async () => {
    const page = await session.browser.newPage();
    const manifests: string[] = [];
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    page.context().on('request', (r) => {
      if (r.url().endsWith('component-package/manifest.json')) manifests.push(r.url());
    });
    await page.goto(`${session.baseUrl}/e2e/pages/component-markup.html`);
    await page.waitForFunction(() => document.querySelector('sarashina-chat')?.engineInfo != null, undefined, { timeout: 120_000 });
    expect(await page.locator('sarashina-chat textarea').getAttribute('placeholder')).toContain('Enter sends');
    expect(await page.evaluate(() => document.querySelector('sarashina-chat')?.engineInfo?.contextTokens)).toBe(CONTEXT);
    expect(manifests).toHaveLength(1);
    await shot(page, 'markup-dark-en');
    expect(failures).toEqual([]);
    await page.close();
  });

  describe('chat', () => {
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      ({ page, errors } = await session.open('/e2e/pages/component.html'));
      await page.waitForFunction(() => typeof window.componentMount === 'function');
    });

    it('loads with progress events, then a keyboard-sent chat with two images streams the text createWorkerEngine gives', async () => {
      await page.evaluate(([m, n, t]) => window.componentMount({ model: m, 'context-tokens': String(n), 'max-tokens': String(t) }), [modelUrl, CONTEXT, MAX_TOKENS] as const);
      await page.waitForFunction(() => window.componentEvents().ready !== null || window.componentEvents().errors.length > 0, undefined, { timeout: 120_000 });
      const loaded = await page.evaluate(() => window.componentEvents());
      expect(loaded.errors).toEqual([]);
      expect(loaded.ready).toMatchObject({ precision: 'fp32', contextTokens: CONTEXT });
      const downloads = loaded.progress.filter((p) => p.phase === 'download');
      expect(downloads.length).toBeGreaterThan(0);
      const last = downloads[downloads.length - 1];
      expect(last?.loadedBytes).toBe(last?.totalBytes);

      // Two images in one message, in the order picked.
      await page.locator('sarashina-chat input[type=file]').setInputFiles([join(FIXTURES, 'images', imageName), join(FIXTURES, 'images', SECOND_IMAGE)]);
      expect(await page.locator('sarashina-chat .thumb img').count()).toBe(2);
      const box = page.locator('sarashina-chat textarea');
      await box.focus();
      // Shift+Enter adds a line and sends nothing.
      await page.keyboard.type('a');
      await page.keyboard.press('Shift+Enter');
      await page.keyboard.type('b');
      expect(await box.inputValue()).toBe('a\nb');
      await box.fill(c.prompt);
      await page.keyboard.press('Enter');
      await waitForMessages(page, 1);
      const events = await page.evaluate(() => window.componentEvents());
      const message = events.messages[0];
      expect(message?.message.content.length).toBeGreaterThan(0);
      expect(events.tokens.length).toBeGreaterThan(1);
      expect(events.tokens.join('')).toBe(message?.message.content);
      expect(message?.usage).toMatchObject({ image_tokens: 6 + 20, completion_tokens: expect.any(Number) });
      expect(await box.inputValue()).toBe('');
      expect(await page.locator('sarashina-chat .thumb').count()).toBe(0);
      expect(await page.locator('sarashina-chat .msg.user img').count()).toBe(2);
      expect(await page.locator('sarashina-chat .msg.assistant').getAttribute('aria-busy')).toBeNull();
      await shot(page, 'chat-image');

      const reference = await page.evaluate(
        ([m, n, urls, text, t]) => window.referenceStream({ model: m, contextTokens: n, imageUrls: [...urls], text, maxTokens: t }),
        [modelUrl, CONTEXT, [imageName, SECOND_IMAGE].map((name) => `/export/reference/fixtures/tiny/images/${name}`), c.prompt, MAX_TOKENS] as const,
      );
      expect(message?.message.content).toBe(reference);
    });

    it('a second turn sends the history (prefix reused); retry gives the same greedy answer; clear empties the chat', async () => {
      const box = page.locator('sarashina-chat textarea');
      await box.fill('ありがとう。もう一度。');
      await page.keyboard.press('Enter');
      await waitForMessages(page, 2);
      let events = await page.evaluate(() => window.componentEvents());
      const second = events.messages[1];
      expect(second?.usage?.prefilled_tokens).toBeGreaterThan(0);
      expect(second?.usage?.prefilled_tokens).toBeLessThan(second?.usage?.prompt_tokens ?? 0);
      expect(await page.locator('sarashina-chat .msg').count()).toBe(4);

      await page.locator('sarashina-chat button.retry').click();
      await waitForMessages(page, 3);
      events = await page.evaluate(() => window.componentEvents());
      expect(events.messages[2]?.message.content).toBe(second?.message.content);
      expect(await page.locator('sarashina-chat .msg').count()).toBe(4);

      expect(await page.locator('sarashina-chat .log > .empty').isVisible()).toBe(false);
      await page.locator('sarashina-chat button.clear').click();
      expect(await page.locator('sarashina-chat .msg').count()).toBe(0);
      expect(await page.locator('sarashina-chat .log > .empty').isVisible()).toBe(true);
    });

    it('the stop button stops the answer mid-generation', async () => {
      await page.evaluate(() => {
        document.querySelector('sarashina-chat')?.setAttribute('max-tokens', '40');
        window.componentStopOnToken(2);
      });
      await page.locator('sarashina-chat input[type=file]').setInputFiles(join(FIXTURES, 'images', imageName));
      await page.locator('sarashina-chat textarea').fill(c.prompt);
      await page.locator('sarashina-chat button.send').click();
      await waitForMessages(page, 4);
      const events = await page.evaluate(() => window.componentEvents());
      const stopped = events.messages[3];
      expect(stopped?.finishReason).toBe('abort');
      expect(stopped?.usage?.completion_tokens ?? Infinity).toBeLessThanOrEqual(4);
      expect(await page.locator('sarashina-chat .msg.assistant').getAttribute('data-finish-reason')).toBe('abort');
      expect(await page.locator('sarashina-chat button.send').isVisible()).toBe(true);
      // The clicked send button hid while answering: the focus moved to the text box, not to the page.
      expect(await page.evaluate(() => document.querySelector('sarashina-chat')?.shadowRoot?.activeElement?.tagName)).toBe('TEXTAREA');
    });

    it('Escape in the text box stops an answer', async () => {
      await page.locator('sarashina-chat textarea').fill('もう一度お願いします。');
      await page.evaluate(() => {
        const el = document.querySelector('sarashina-chat');
        el?.addEventListener('token', () => el.shadowRoot?.querySelector('textarea')?.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })), { once: true });
      });
      await page.keyboard.press('Enter');
      await waitForMessages(page, 5);
      const events = await page.evaluate(() => window.componentEvents());
      expect(events.messages[4]?.finishReason).toBe('abort');
    });

    it('images by drop and paste (several, thumbnails, remove); Enter during IME composition does not send; errors show in the chat', async () => {
      const added = await page.evaluate(async (url) => {
        const el = document.querySelector('sarashina-chat');
        const form = el?.shadowRoot?.querySelector('form');
        if (!form) throw new Error('no composer');
        const blob = await (await fetch(url)).blob();
        const files = (n: number): DataTransfer => {
          const dt = new DataTransfer();
          for (let i = 0; i < n; i++) dt.items.add(new File([blob], `image-${i}.png`, { type: 'image/png' }));
          dt.items.add(new File(['not an image'], 'notes.txt', { type: 'text/plain' }));
          return dt;
        };
        // Dropped on the message list: the whole chat is a drop target.
        el?.shadowRoot?.querySelector('.log')?.dispatchEvent(new DragEvent('drop', { dataTransfer: files(2), bubbles: true, cancelable: true }));
        form.querySelector('textarea')?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: files(1), bubbles: true, cancelable: true }));
        return form.querySelectorAll('.thumb').length;
      }, `/export/reference/fixtures/tiny/images/${imageName}`);
      expect(added).toBe(3);
      const remove = page.locator('sarashina-chat .thumb button');
      expect(await remove.nth(1).getAttribute('aria-label')).toBe('画像を削除 2');
      await remove.nth(1).focus();
      await page.keyboard.press('Enter');
      expect(await page.locator('sarashina-chat .thumb').count()).toBe(2);
      await page.locator('sarashina-chat .thumb button').first().click();
      await page.locator('sarashina-chat .thumb button').first().click();
      expect(await page.locator('sarashina-chat .thumb').count()).toBe(0);

      const box = page.locator('sarashina-chat textarea');
      await box.fill('変換中');
      await box.dispatchEvent('keydown', { key: 'Enter', isComposing: true });
      expect(await box.inputValue()).toBe('変換中');

      // More new tokens than the context holds: the engine refuses, the chat shows why and keeps working.
      await page.evaluate(() => document.querySelector('sarashina-chat')?.setAttribute('max-tokens', '256'));
      const before = (await page.evaluate(() => window.componentEvents())).messages.length;
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.componentEvents().errors.length > 0);
      const events = await page.evaluate(() => window.componentEvents());
      expect(events.errors.map((e) => e.code)).toEqual(['context-overflow']);
      expect(events.messages.length).toBe(before);
      const alert = page.locator('sarashina-chat .msg.error');
      expect(await alert.textContent()).toContain('context-overflow');
      expect(await alert.locator('.hint').textContent()).toContain('メッセージが長すぎて');
      // The refused message is not kept in the conversation: it is back in the text box.
      expect(await box.inputValue()).toBe('変換中');
      expect(await alert.locator('.returned').textContent()).toContain('入力欄に戻しました');
      expect(await page.locator('sarashina-chat button.send').isVisible()).toBe(true);
      await page.evaluate(() => document.querySelector('sarashina-chat')?.setAttribute('lang', 'en'));
      expect(await page.locator('sarashina-chat button.retry').textContent()).toBe('Regenerate');
      expect(await alert.locator('.who').textContent()).toBe('Error (context-overflow)');
      expect(await alert.locator('.hint').textContent()).toContain('The message is too long for the context');
      expect(await alert.locator('.returned').textContent()).toContain('put back in the input box');
      expect(await alert.locator('.detail').textContent()).toMatch(/\d+ tokens/);
      expect(await page.locator('sarashina-chat .msg.assistant .note').first().textContent()).toBe('(stopped)');
      expect(await box.getAttribute('placeholder')).toContain('Enter sends');
      await shot(page, 'chat-en-error');
      await page.evaluate(() => document.querySelector('sarashina-chat')?.setAttribute('lang', 'ja'));
    });

    it('a failed turn is not resent: after an undecodable image, a message too long alone, and a stop before any text, the next message works', async () => {
      const el = page.locator('sarashina-chat');
      const box = page.locator('sarashina-chat textarea');
      const userBubbles = (): Promise<number> => page.locator('sarashina-chat .msg.user').count();
      const lastMessage = async () => (await page.evaluate(() => window.componentEvents())).messages.at(-1);
      const lastError = async () => (await page.evaluate(() => window.componentEvents())).errors.at(-1);
      await page.evaluate(() => document.querySelector('sarashina-chat')?.setAttribute('max-tokens', '3'));
      await page.locator('sarashina-chat button.clear').click();
      await box.fill('');

      // 1. A good picture and bytes no browser decodes, both typed image/png: the request is refused, the message and
      //    the good picture come back, the undecodable one does not; sending again answers about the good one alone.
      await el.locator('input[type=file]').setInputFiles([
        { name: imageName, mimeType: 'image/png', buffer: readFileSync(join(FIXTURES, 'images', imageName)) },
        { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG file') },
      ]);
      await box.fill('この画像は何ですか?');
      expect(await sendAndWait(page)).toBe('error');
      expect((await lastError())?.code).toBe('invalid-request');
      expect(await userBubbles()).toBe(0);
      expect(await box.inputValue()).toBe('この画像は何ですか?');
      expect(await el.locator('.thumb').count()).toBe(1);
      expect(await el.locator('.msg.error .returned').textContent()).toContain('読み込めなかった画像は除きました');
      await shot(page, 'failed-image');
      expect(await sendAndWait(page)).toBe('message');
      expect((await lastMessage())?.usage?.image_tokens).toBe(6);
      expect(await userBubbles()).toBe(1);

      // 2. A message too long for the context on its own: refused, back in the box; a short one then answers, and the
      //    history it sends is the turn before (its prefix is reused from the cache).
      const long = 'りんご みかん '.repeat(CONTEXT);
      await box.fill(long);
      expect(await sendAndWait(page)).toBe('error');
      expect((await lastError())?.code).toBe('context-overflow');
      expect(await box.inputValue()).toBe(long);
      expect(await userBubbles()).toBe(1);
      await box.fill('ありがとう。');
      expect(await sendAndWait(page)).toBe('message');
      const short = await lastMessage();
      expect(short?.finishReason).not.toBe('abort');
      expect(short?.usage?.prompt_tokens).toBeLessThan(CONTEXT);
      expect(short?.usage?.prefilled_tokens).toBeLessThan(short?.usage?.prompt_tokens ?? 0);
      expect(await userBubbles()).toBe(2);

      // 3. Stopped before any text (stop pressed in the same task as send): nothing was answered, so the question goes
      //    back to the box and leaves no turn; sending it again answers.
      await box.fill('もう一度お願いします。');
      const before = (await page.evaluate(() => window.componentEvents())).messages.length;
      await page.evaluate(() => {
        const root = document.querySelector('sarashina-chat')?.shadowRoot;
        root?.querySelector('textarea')?.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
        root?.querySelector<HTMLButtonElement>('button.stop')?.click();
      });
      await page.waitForFunction((n) => window.componentEvents().messages.length > n, before, { timeout: 120_000 });
      expect(await lastMessage()).toMatchObject({ finishReason: 'abort', message: { content: '' } });
      expect(await box.inputValue()).toBe('もう一度お願いします。');
      expect(await userBubbles()).toBe(2);
      expect(await el.locator('.msg.assistant').count()).toBe(2);
      expect(await sendAndWait(page)).toBe('message');
      expect((await lastMessage())?.finishReason).not.toBe('abort');
      expect(await userBubbles()).toBe(3);
    });

    it('dark theme by attribute and by prefers-color-scheme', async () => {
      const background = (): Promise<string> => page.evaluate(() => getComputedStyle(document.querySelector('sarashina-chat') as Element).backgroundColor);
      const light = await background();
      await page.evaluate(() => document.querySelector('sarashina-chat')?.setAttribute('theme', 'dark'));
      const dark = await background();
      expect(dark).not.toBe(light);
      await shot(page, 'chat-dark');
      await page.evaluate(() => document.querySelector('sarashina-chat')?.removeAttribute('theme'));
      await page.emulateMedia({ colorScheme: 'dark' });
      expect(await background()).toBe(dark);
      await page.evaluate(() => document.querySelector('sarashina-chat')?.setAttribute('theme', 'light'));
      expect(await background()).toBe(light);
      await page.setViewportSize({ width: 390, height: 700 });
      await shot(page, 'chat-narrow');
      expect(errors).toEqual([]);
    });
  });
});
