/**
 * The published package used the way a stranger uses it, in Chromium (WebGPU on SwiftShader). `npm pack` once into a
 * temporary folder outside the repository; then, with nothing of the repository's tooling between the browser and
 * the files (plain static servers, e2e/static-server.ts):
 *
 * (a) a plain HTML page on one origin embeds `<sarashina-chat>` with one `<script type="module">` from a second
 *     origin serving the unpacked tarball as a CDN does (CORS), with the model package on a third origin (CORS):
 *     the element chats with the trained default model about a fresh picture and answers right;
 * (b) a minimal Vite app in a temporary folder installs the tarball (`npm install --offline`: the package has no
 *     dependencies), builds with Vite's defaults, is served, and answers through `createWorkerEngine`; its types
 *     check a strict TypeScript consumer;
 * and the packaging faults: the component script loaded twice (defined once, no error), a page whose CSP blocks
 * workers (a visible `worker-unavailable` error, not a hang), a model host without CORS (a visible
 * `download-failed` naming CORS).
 *
 * Pictures and answers come from the shapes generator's test split (export/train/accuracy-cases.ts), never
 * trained on; every answer must be exactly right.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../export/package/export-package';
import { type AccuracyCase, accuracyCases } from '../export/train/accuracy-cases';
import { CHROMIUM_ARGS, chromiumPath, openPage, REPO_ROOT } from './harness';
import { type StaticServer, startStaticServer } from './static-server';

/**
 * Two pictures apart from the other accuracy tests' batches, one question each: one for the page, one for the app.
 * (Follow-up turns through the element are e2e/trained-model-component.test.ts's; each fresh worker here costs
 * ~20 s of loading and ~45 s for its first answer on SwiftShader, mostly compiling kernels.)
 */
const [PAGE_CASE, APP_CASE] = accuracyCases({ pictures: 2, turnsPerPicture: 1, maxPicturePixels: 130 * 130, firstIndex: 400 }) as [AccuracyCase, AccuracyCase];
const VERSION = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** npm and Vite as a user runs them: NODE_ENV=test (set by vitest) would make Vite build for development. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_ENV;
  return env;
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, env: userEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Opened {
  readonly page: Page;
  /** Page errors, console errors and HTTP errors (a plain package's absent variants.json excepted). */
  readonly errors: string[];
}

const open = (browser: Browser, url: string): Promise<Opened> => openPage(browser, url);

/** Waits until the element is ready or shows an error screen; returns that screen's text ('' when ready). */
async function loaded(page: Page): Promise<string> {
  await page.waitForFunction(
    () => {
      const el = document.querySelector('sarashina-chat');
      return el?.engineInfo != null || el?.shadowRoot?.querySelector('.screen[role=alert]') != null;
    },
    undefined,
    { timeout: 180_000 },
  );
  return page.evaluate(() => document.querySelector('sarashina-chat')?.shadowRoot?.querySelector('.screen[role=alert]')?.textContent ?? '');
}

/** Types `text` in the element, sends it with Enter and returns the answer it shows. */
async function ask(page: Page, text: string): Promise<string> {
  const before = await page.locator('sarashina-chat .msg.assistant').count();
  await page.locator('sarashina-chat textarea').fill(text);
  await page.locator('sarashina-chat textarea').press('Enter');
  await page.waitForFunction(
    (n) => {
      const root = document.querySelector('sarashina-chat')?.shadowRoot;
      const answers = root?.querySelectorAll('.msg.assistant') ?? [];
      const last = answers[answers.length - 1];
      return (answers.length > n && last?.getAttribute('aria-busy') === null) || root?.querySelector('[role=alert]') != null;
    },
    before,
    { timeout: 120_000 },
  );
  expect(await page.locator('sarashina-chat [role=alert]').count()).toBe(0);
  return ((await page.locator('sarashina-chat .msg.assistant .body').last().textContent()) ?? '').trim();
}

describe('the npm package as a stranger uses it (npm pack, plain pages and a Vite app on other origins, Chromium)', () => {
  let temp: string;
  let tarball: string;
  let cdnScript: string;
  let browser: Browser;
  const servers: StaticServer[] = [];
  let site: StaticServer;
  let cdn: StaticServer;
  let models: StaticServer;
  let modelsWithoutCors: StaticServer;

  beforeAll(async () => {
    temp = await mkdtemp(join(tmpdir(), 'sarashina-package-'));
    // The tarball, as `npm publish` would upload it (prepack builds dist/lib).
    const packed = run('npm', ['pack', '--pack-destination', temp, '--silent'], REPO_ROOT).trim().split('\n').pop() ?? '';
    tarball = join(temp, packed);
    // A CDN serves the tarball's files at /npm/<name>@<version>/…, with CORS (as jsDelivr and unpkg do).
    const cdnPackage = join(temp, 'cdn/npm', `sarashina-webgpu@${VERSION}`);
    await mkdir(cdnPackage, { recursive: true });
    run('tar', ['xzf', tarball, '-C', cdnPackage, '--strip-components=1'], temp);
    // The model host: the trained default model, exported by the project's exporter (q4f32: SwiftShader has no shader-f16).
    await exportPackage(join(REPO_ROOT, 'export/train/checkpoint'), join(temp, 'models/default'), { precision: 'q4f32' });
    await mkdir(join(temp, 'site'), { recursive: true });
    await writeFile(join(temp, 'site/picture.png'), PAGE_CASE.png);

    site = await startStaticServer(join(temp, 'site'), { host: 'localhost', cors: false });
    cdn = await startStaticServer(join(temp, 'cdn'), { host: '127.0.0.1', cors: true });
    models = await startStaticServer(join(temp, 'models'), { host: '127.0.0.1', cors: true });
    modelsWithoutCors = await startStaticServer(join(temp, 'models'), { host: '127.0.0.1', cors: false });
    servers.push(site, cdn, models, modelsWithoutCors);
    cdnScript = `${cdn.origin}/npm/sarashina-webgpu@${VERSION}/dist/lib/sarashina-chat.js`;
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it('packs the build with no dependencies, an exports map and the one-file element', async () => {
    const manifest = JSON.parse(await readFile(join(temp, 'cdn/npm', `sarashina-webgpu@${VERSION}`, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies ?? {}).toEqual({});
    const files = run('tar', ['tzf', tarball], temp).split('\n');
    for (const file of ['index.js', 'chat.js', 'sarashina-chat.js', 'engine-worker.js', 'ort-wasm-simd-threaded.asyncify.wasm', 'types/src/package/index.d.ts']) {
      expect(files).toContain(`package/dist/lib/${file}`);
    }
    expect(files.filter((f) => f.startsWith('package/') && !f.startsWith('package/dist/lib/')).sort()).toEqual(['package/README.md', 'package/package.json']);
    // The one-file element imports nothing: one script tag is all a page needs.
    expect(await readFile(join(temp, 'cdn/npm', `sarashina-webgpu@${VERSION}`, 'dist/lib/sarashina-chat.js'), 'utf8')).not.toMatch(/^\s*import\s|\bimport\s*\(\s*["'`]\.\//m);
  });

  it('(a) a plain page embeds the element from a CDN origin, loads the model from a third origin and answers', async () => {
    await writeFile(
      join(temp, 'site/index.html'),
      `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>A page about shapes</title>
<script type="module" src="${cdnScript}"></script>
<body>
<sarashina-chat model="${models.origin}/default/" context-tokens="512" max-tokens="40" lang="en"></sarashina-chat>
</body></html>`,
    );
    const { page, errors } = await open(browser, `${site.origin}/`);
    expect(await loaded(page)).toBe('');
    // The worker, the wasm and the model came from their own origins; the site served only the page.
    expect(cdn.requests).toEqual(expect.arrayContaining([expect.stringMatching(/\/engine-worker\.js$/), expect.stringMatching(/\/ort-wasm-simd-threaded\.asyncify\.wasm$/)]));
    expect(site.requests.filter((p) => !p.endsWith('/favicon.ico'))).toEqual(['/']);
    await page.locator('sarashina-chat input[type=file]').setInputFiles(join(temp, 'site/picture.png'));
    const wrong: string[] = [];
    for (const qa of PAGE_CASE.turns) {
      const answer = await ask(page, qa.question);
      if (answer !== qa.answer) wrong.push(`${qa.question} → ${JSON.stringify(answer)} (expected ${JSON.stringify(qa.answer)})`);
    }
    expect(wrong).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('(b) a Vite app that depends on the tarball builds with Vite defaults and answers', async () => {
    const app = join(temp, 'app');
    await mkdir(join(app, 'public'), { recursive: true });
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'stranger-app', private: true, type: 'module' }, null, 2));
    // The package has no dependencies, so an offline install needs nothing but the tarball.
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], app);
    await writeFile(join(app, 'public/picture.png'), APP_CASE.png);
    await writeFile(
      join(app, 'index.html'),
      `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>stranger app</title>
<body><output id="answer"></output><output id="error"></output><output id="element"></output>
<script type="module" src="/main.js"></script></body></html>`,
    );
    await writeFile(
      join(app, 'main.js'),
      `import { createWorkerEngine } from 'sarashina-webgpu';
import 'sarashina-webgpu/chat';

const params = new URLSearchParams(location.search);
document.getElementById('element').textContent = String(customElements.get('sarashina-chat') !== undefined);
try {
  const engine = await createWorkerEngine({ model: params.get('model'), contextTokens: 512 });
  const picture = await (await fetch('picture.png')).blob();
  const reply = await engine.chat.completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: picture } }, { type: 'text', text: params.get('question') }] }],
    max_tokens: 40,
  });
  document.getElementById('answer').textContent = reply.choices[0].message.content;
  await engine.dispose();
} catch (e) {
  document.getElementById('error').textContent = (e.code ?? e.name) + ': ' + e.message;
}
`,
    );
    run(process.execPath, [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app);
    const served = await startStaticServer(join(app, 'dist'), { host: 'localhost', cors: false });
    servers.push(served);
    const qa = APP_CASE.turns[0];
    if (!qa) throw new Error('no question for the app');
    const query = new URLSearchParams({ model: `${models.origin}/default/`, question: qa.question });
    const { page, errors } = await open(browser, `${served.origin}/?${query.toString()}`);
    await page.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '') !== '' || (document.getElementById('error')?.textContent ?? '') !== '', undefined, {
      timeout: 180_000,
    });
    expect(await page.locator('#error').textContent()).toBe('');
    expect(await page.locator('#element').textContent()).toBe('true');
    expect((await page.locator('#answer').textContent())?.trim()).toBe(qa.answer);
    // The app's own copies of the worker and the wasm (hashed by Vite) ran, not files outside its build.
    expect(served.requests).toEqual(expect.arrayContaining([expect.stringMatching(/^\/assets\/engine-worker-.+\.js$/), expect.stringMatching(/^\/assets\/ort-wasm-simd-threaded\.asyncify-.+\.wasm$/)]));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("the tarball's types check a strict TypeScript consumer (skipLibCheck off, with @webgpu/types)", async () => {
    const app = join(temp, 'app'); // installed by (b)
    // The optional peer dependency, from the repository (no registry): what the README tells TypeScript users to add.
    await mkdir(join(app, 'node_modules/@webgpu'), { recursive: true });
    await symlink(join(REPO_ROOT, 'node_modules/@webgpu/types'), join(app, 'node_modules/@webgpu/types'));
    await writeFile(
      join(app, 'consumer.ts'),
      `import { createWorkerEngine, isSarashinaError, type ChatCompletionChunk, type EngineInfo } from 'sarashina-webgpu';
import 'sarashina-webgpu/chat';

export async function firstWords(model: string, picture: Blob): Promise<string> {
  const engine = await createWorkerEngine({ model, contextTokens: 512 });
  const info: EngineInfo = engine.info;
  const stream = await engine.chat.completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: picture } }, { type: 'text', text: info.precision }] }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += (chunk satisfies ChatCompletionChunk).choices[0]?.delta.content ?? '';
  return text;
}

export const ready = (): EngineInfo | null | undefined => document.querySelector('sarashina-chat')?.engineInfo;
export const code = (e: unknown): string | null => (isSarashinaError(e) ? e.code : null);
`,
    );
    const compilerOptions = { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2023', 'DOM', 'DOM.Iterable', 'DOM.AsyncIterable'], strict: true, noEmit: true, skipLibCheck: false, types: ['@webgpu/types'] };
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    // tsc exits non-zero (run throws, with the diagnostics) on any error in the consumer or the package's .d.ts.
    expect(run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], app)).toBe('');
  });

  it('a page that loads the component script twice (and the ESM entry) defines the element once, without errors', async () => {
    await writeFile(
      join(temp, 'site/twice.html'),
      `<!doctype html>
<html lang="en"><meta charset="utf-8">
<script type="module" src="${cdnScript}"></script>
<script type="module" src="${cdnScript}?again"></script>
<script type="module" src="${cdnScript.replace(/sarashina-chat\.js$/, 'chat.js')}"></script>
<body><sarashina-chat lang="en"></sarashina-chat></body></html>`,
    );
    const { page, errors } = await open(browser, `${site.origin}/twice.html`);
    await page.waitForFunction(() => document.querySelector('sarashina-chat')?.shadowRoot?.querySelector('.screen') != null);
    // No model attribute: the element says so (the status screen), defined by whichever script ran first.
    expect(await page.locator('sarashina-chat .screen[role=status]').textContent()).toContain('model attribute');
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a page whose Content-Security-Policy blocks workers shows worker-unavailable in the element (no hang)", async () => {
    await writeFile(
      join(temp, 'site/no-workers.html'),
      `<!doctype html>
<html lang="en"><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="worker-src 'none'">
<script type="module" src="${cdnScript}"></script>
<body><sarashina-chat model="${models.origin}/default/" lang="en"></sarashina-chat></body></html>`,
    );
    const { page } = await open(browser, `${site.origin}/no-workers.html`);
    const alert = await loaded(page);
    expect(alert).toContain('worker-unavailable');
    expect(alert).toContain('Content-Security-Policy');
    await page.close();
  });

  it('a model host without CORS gives a visible download-failed that names CORS', async () => {
    await writeFile(
      join(temp, 'site/no-cors.html'),
      `<!doctype html>
<html lang="en"><meta charset="utf-8">
<script type="module" src="${cdnScript}"></script>
<body><sarashina-chat model="${modelsWithoutCors.origin}/default/" lang="en"></sarashina-chat></body></html>`,
    );
    const { page } = await open(browser, `${site.origin}/no-cors.html`);
    const alert = await loaded(page);
    expect(alert).toContain('download-failed');
    expect(alert).toContain('Access-Control-Allow-Origin');
    await page.close();
  });
});
