/**
 * Browser-test harness: a Vite dev server on localhost (a secure context, so WebGPU is allowed) and
 * Debian's Chromium driven by playwright-core, with WebGPU on SwiftShader. No browser is downloaded.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Chromium flags: WebGPU on SwiftShader, and no background traffic (this machine has no network). */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface E2eSession {
  readonly server: ViteDevServer;
  readonly browser: Browser;
  readonly baseUrl: string;
  /** Opens a page and records its console errors and page errors into `errors`. */
  open(path: string): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export function chromiumPath(): string {
  const found = CHROMIUM_CANDIDATES.find((p): p is string => Boolean(p) && existsSync(p as string));
  if (!found) {
    throw new Error('Chromium not found. Install it with `apt-get install -y chromium` (Debian) or set CHROMIUM_PATH.');
  }
  return found;
}

/** Starts the dev server (root = the repository, so e2e/pages/*.html are served) and Chromium. */
/**
 * A new page at `url` that collects page errors, console errors and HTTP errors in `errors`. A 404 for
 * variants.json is the engine asking whether a model folder holds several variants (a plain package has none): part
 * of the protocol, not an error.
 */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Failed loads are reported below with their URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    const expected = r.url().endsWith('/favicon.ico') || (r.status() === 404 && r.url().endsWith('/variants.json'));
    if (r.status() >= 400 && !expected) errors.push(`http ${r.status()}: ${r.url()}`);
  });
  await page.goto(url);
  return { page, errors };
}

export async function startE2e(): Promise<E2eSession> {
  const server = await createServer({
    configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    root: REPO_ROOT,
    server: { port: 0, host: 'localhost', strictPort: false },
    logLevel: 'warn',
    clearScreen: false,
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite server has no port');
  const baseUrl = `http://localhost:${address.port}`;
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  return {
    server,
    browser,
    baseUrl,
    open: (path: string) => openPage(browser, `${baseUrl}${path}`),
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
