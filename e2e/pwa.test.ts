/**
 * The offline PWA as `npm run build` + `vite preview` serve it, in Chromium on SwiftShader: the web app
 * manifest and icons, a first online visit that chats (service worker installed, model downloaded into
 * OPFS), then with the network off and the server gone, a reload that still loads and chats. The model
 * must come from the loader's OPFS cache, never from the service worker's precache.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askDemo, waitEngineReady } from './demo-page';
import { type DemoServer, startPreviewServer } from './demo-server';
import { CHROMIUM_ARGS, chromiumPath, REPO_ROOT } from './harness';

const OUTPUT = join(REPO_ROOT, 'e2e/output');
const DIST = join(OUTPUT, 'pwa-dist');
const IMAGE = join(REPO_ROOT, 'export/reference/fixtures/tiny/images/stripes-150x100.png');

describe('offline PWA (npm run build + vite preview)', () => {
  let server: DemoServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    server = await startPreviewServer(DIST);
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    // Shorter answers: the point here is that it answers, not what.
    await context.addInitScript(() => {
      if (!localStorage.getItem('sarashina-demo-settings')) localStorage.setItem('sarashina-demo-settings', JSON.stringify({ maxTokens: 8, contextTokens: 512 }));
    });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(DIST, { recursive: true, force: true });
  });

  it('serves an installable web app manifest with its icons', async () => {
    const response = await page.goto(`${server.baseUrl}/manifest.webmanifest`);
    const manifest = (await response?.json()) as { name: string; start_url: string; display: string; icons: { src: string; sizes: string }[] };
    expect(manifest).toMatchObject({ name: 'Sarashina2-Vision WebGPU', display: 'standalone' });
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    for (const icon of manifest.icons) {
      const r = await page.request.get(new URL(icon.src, `${server.baseUrl}/`).href);
      expect(r.status(), icon.src).toBe(200);
      expect(r.headers()['content-type']).toBe('image/png');
    }
  });

  it('first visit online: chats, the service worker takes control and precaches the app shell but not the model', async () => {
    await page.goto(`${server.baseUrl}/`);
    await waitEngineReady(page);
    const answer = await askDemo(page, 'この画像を説明してください。', IMAGE);
    expect(answer.tokenEvents).toBeGreaterThan(0);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
    const cached = await page.evaluate(async () => {
      const urls: string[] = [];
      for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
      return urls;
    });
    expect(cached.some((u) => u.endsWith('.wasm'))).toBe(true);
    expect(cached.some((u) => /\/index\.html$/.test(u))).toBe(true);
    expect(cached.filter((u) => u.includes('/models/'))).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'pwa-online.png'), fullPage: true });
  });

  it('offline (network off, server gone): a reload loads the page and the model, and chats again', async () => {
    await context.setOffline(true);
    await server.close();
    await page.reload();
    const status = await waitEngineReady(page);
    expect(status).toMatch(/context 512/);
    const answer = await askDemo(page, 'もう一度説明してください。', IMAGE);
    expect(answer.tokenEvents).toBeGreaterThan(0);
    expect(answer.metrics.ttft).toMatch(/^\d+ ms$/);
    await page.screenshot({ path: join(OUTPUT, 'pwa-offline.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
