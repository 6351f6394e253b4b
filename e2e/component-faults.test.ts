/**
 * <sarashina-chat> in Chromium (WebGPU on SwiftShader) on the tiny fp32 package and on packages made from it that
 * misbehave: two elements on one page (two engines, their own saved conversations, a size cap), model output that is
 * markup (a package whose vocabulary pieces are HTML), a chat template that loops, a storage quota smaller than the
 * package, and a memory budget too small for the requested context. Every fault ends as a typed error in the element,
 * never a hang.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../export/package/export-package';
import { type E2eSession, REPO_ROOT, startE2e } from './harness';
import type { ElementEvents } from './pages/chat-faults';

const FIXTURES = join(REPO_ROOT, 'export/reference/fixtures/tiny');
const OUTPUT = join(REPO_ROOT, 'e2e/output/component-faults');
const IMAGE = join(FIXTURES, 'images', 'stripes-150x100.png');
const BASE_ATTRIBUTES = { 'context-tokens': '256', 'max-tokens': '8' };
const QUESTION = 'こんにちは';

/** A copy of the tiny checkpoint with `edit` applied to its files (name → text), for a misbehaving package. */
function editedCheckpoint(name: string, edit: (files: Map<string, string>) => void): string {
  const dir = join(OUTPUT, `${name}-checkpoint`);
  mkdirSync(dir, { recursive: true });
  const texts = new Map<string, string>();
  for (const file of readdirSync(join(FIXTURES, 'checkpoint'))) {
    if (file.endsWith('.json')) texts.set(file, readFileSync(join(FIXTURES, 'checkpoint', file), 'utf8'));
    else copyFileSync(join(FIXTURES, 'checkpoint', file), join(dir, file));
  }
  edit(texts);
  for (const [file, text] of texts) writeFileSync(join(dir, file), text);
  return dir;
}

/**
 * The tiny checkpoint with a vocabulary whose pieces are HTML: every piece that the prompt of QUESTION cannot use
 * (not a substring of the chat template's text or the question) becomes a tag with an event handler or a script, so the
 * prompt tokenizes as before (its best segmentation used only kept pieces) and what the model generates decodes to
 * markup. Special tokens and byte-fallback pieces stay.
 */
function markupCheckpoint(): string {
  return editedCheckpoint('markup', (files) => {
    const template = (JSON.parse(files.get('chat_template.json') ?? '{}') as { chat_template: string }).chat_template;
    const haystack = `${template}\n### Human: ${QUESTION}\n### Assistant:`.replaceAll(' ', '▁');
    const tokenizer = JSON.parse(files.get('tokenizer.json') ?? '{}') as { model: { vocab: [string, number][] }; added_tokens: { content: string }[] };
    const special = new Set(tokenizer.added_tokens.map((t) => t.content));
    const markup = (id: number): string =>
      [`<img src=x${id} onerror="window.pwned++">`, `<script>window.pwned++; // ${id}</script>`, `<b id=b${id} onclick="window.pwned++">`][id % 3] ?? '';
    tokenizer.model.vocab = tokenizer.model.vocab.map(([piece, score], id): [string, number] =>
      special.has(piece) || /^<0x[0-9A-F]{2}>$/.test(piece) || haystack.includes(piece) ? [piece, score] : [markup(id), score],
    );
    files.set('tokenizer.json', JSON.stringify(tokenizer));
  });
}

/**
 * The tiny checkpoint with max_position_embeddings 2^22: at that context each KV-cache buffer is exactly 1 GiB
 * (4 KV heads × 16 dims × 4 bytes per token), which SwiftShader's vkAllocateMemory refuses
 * (src/model/sarashina-model-resources.test.ts): the device runs out of memory in the middle of the load.
 */
function longContextCheckpoint(): string {
  return editedCheckpoint('long', (files) => {
    const config = JSON.parse(files.get('config.json') ?? '{}') as { text_config: { max_position_embeddings: number } };
    config.text_config.max_position_embeddings = 2 ** 22;
    files.set('config.json', JSON.stringify(config));
  });
}

/** The tiny checkpoint with a chat template that loops 10^10 times before it renders the messages. */
function loopingTemplateCheckpoint(): string {
  return editedCheckpoint('loop', (files) => {
    const template =
      "{{ bos_token + '<|prefix|><|file|><|suffix|>' }}{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}" +
      "{% for message in messages %}{{ message['content'] }}{% endfor %}";
    files.set('chat_template.json', JSON.stringify({ chat_template: template }));
  });
}

async function events(page: Page, id: string): Promise<ElementEvents> {
  return page.evaluate((i) => window.chatEvents(i), id);
}

async function waitReady(page: Page, id: string): Promise<void> {
  await page.waitForFunction((i) => window.chatEvents(i).ready || window.chatEvents(i).errors.length > 0, id, { timeout: 120_000 });
  expect((await events(page, id)).errors).toEqual([]);
}

/** Types `text` (and picks `image`) in element `id`, sends with Enter, waits for its `message` or `error` event. */
async function send(page: Page, id: string, text: string, image?: string): Promise<'message' | 'error'> {
  const before = await events(page, id);
  if (image) await page.locator(`#${id} input[type=file]`).setInputFiles(image);
  await page.locator(`#${id} textarea`).fill(text);
  await page.locator(`#${id} textarea`).press('Enter');
  const handle = await page.waitForFunction(
    ({ i, b }) => {
      const e = window.chatEvents(i);
      return e.errors.length > b.errors ? 'error' : e.messages.length > b.messages ? 'message' : false;
    },
    { i: id, b: { errors: before.errors.length, messages: before.messages.length } },
    { timeout: 120_000 },
  );
  return (await handle.jsonValue()) as 'message' | 'error';
}

/** The conversation element `id` shows: per message its role, text and number of pictures. */
async function shown(page: Page, id: string): Promise<{ role: string; text: string; images: number }[]> {
  return page.locator(`#${id} .msg`).evaluateAll((boxes) =>
    boxes.map((b) => ({
      role: b.classList.contains('user') ? 'user' : b.classList.contains('assistant') ? 'assistant' : 'other',
      text: (b.classList.contains('assistant') ? b.querySelector('.body')?.textContent : b.lastChild?.textContent) ?? '',
      images: b.querySelectorAll('img').length,
    })),
  );
}

describe('<sarashina-chat> persistence and faults (Chromium)', () => {
  let session: E2eSession;
  let modelUrl: string;

  beforeAll(async () => {
    await rm(OUTPUT, { recursive: true, force: true });
    mkdirSync(OUTPUT, { recursive: true });
    await exportPackage(join(FIXTURES, 'checkpoint'), join(OUTPUT, 'tiny'), { precision: 'fp32' });
    await exportPackage(markupCheckpoint(), join(OUTPUT, 'markup'), { precision: 'fp32' });
    await exportPackage(loopingTemplateCheckpoint(), join(OUTPUT, 'loop'), { precision: 'fp32' });
    await exportPackage(longContextCheckpoint(), join(OUTPUT, 'long'), { precision: 'fp32' });
    session = await startE2e();
    modelUrl = `${session.baseUrl}/e2e/output/component-faults/tiny/`;
  });

  afterAll(async () => {
    await session?.close();
    await rm(OUTPUT, { recursive: true, force: true });
  });

  it('two elements on one page: two engines, each its own saved conversation and pictures, one capped; reload restores both; clear deletes one', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    const pictureBytes = readFileSync(IMAGE).byteLength;
    // The right element's cap has room for one exchange with the picture, not for two.
    const mount = async (): Promise<void> => {
      await page.evaluate((a) => window.chatMount('left', { ...a, 'persist-key': 'left' }), { ...BASE_ATTRIBUTES, model: modelUrl });
      await page.evaluate((a) => window.chatMount('right', { ...a, 'persist-key': 'right' }), { ...BASE_ATTRIBUTES, model: modelUrl, 'persist-max-bytes': String(pictureBytes + 200) });
      await waitReady(page, 'left');
      await waitReady(page, 'right');
    };
    await mount();
    expect(await send(page, 'left', 'これは何ですか？', IMAGE)).toBe('message');
    expect(await send(page, 'right', 'いち', IMAGE)).toBe('message');
    expect((await page.evaluate(() => window.savedTurns('right')))?.map((t) => t.text)[0]).toBe('いち');
    expect(await send(page, 'left', '色は？')).toBe('message');
    expect(await send(page, 'right', 'に', IMAGE)).toBe('message');
    expect(await send(page, 'right', 'さん')).toBe('message');
    const left = await shown(page, 'left');
    const right = await shown(page, 'right');
    expect(left.map((m) => [m.role, m.images])).toEqual([['user', 1], ['assistant', 0], ['user', 0], ['assistant', 0]]);
    expect(right.filter((m) => m.role === 'user').map((m) => [m.text, m.images])).toEqual([['いち', 1], ['に', 1], ['さん', 0]]);
    expect((await page.evaluate(() => window.savedTurns('left')))?.map((t) => [t.role, t.images.map((i) => i.size)])).toEqual([
      ['user', [pictureBytes]],
      ['assistant', []],
      ['user', []],
      ['assistant', []],
    ]);
    // The cap left the oldest exchange out of what is saved (the chat on screen keeps it until the page reloads).
    const saved = await page.evaluate(() => window.savedTurns('right'));
    expect(saved?.filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['に', 'さん']);

    await page.reload();
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    await mount();
    expect(await shown(page, 'left')).toEqual(left);
    expect(await shown(page, 'right')).toEqual(right.slice(2));
    // The restored picture is a real image again (decoded by the browser, its natural size).
    const size = await page.locator('#left .msg.user img').first().evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    });
    expect(size).toEqual([150, 100]);
    // A later turn resends the restored picture: 150×100 is 20 image tokens with the tiny model's processor.
    expect(await send(page, 'left', '形は？')).toBe('message');
    expect((await events(page, 'left')).messages.at(-1)?.usage?.image_tokens).toBe(20);

    // Clear deletes the saved conversation, the other element keeps its own; after a reload the cleared one is empty.
    await page.locator('#right button.clear').click();
    await page.waitForFunction(() => window.savedTurns('right').then((t) => t === null));
    expect(await shown(page, 'right')).toEqual([]);
    expect((await page.evaluate(() => window.savedTurns('left')))?.length).toBe(6);
    await page.reload();
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    await page.evaluate((a) => window.chatMount('right', { ...a, 'persist-key': 'right' }), { ...BASE_ATTRIBUTES, model: modelUrl });
    await waitReady(page, 'right');
    expect(await shown(page, 'right')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('model output that is HTML is shown as text: no element is made from it, no handler runs', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    await page.evaluate((m) => window.chatMount('markup', { 'context-tokens': '256', 'max-tokens': '24', model: m }), `${session.baseUrl}/e2e/output/component-faults/markup/`);
    await waitReady(page, 'markup');
    expect(await send(page, 'markup', QUESTION)).toBe('message');
    const answer = (await events(page, 'markup')).messages.at(-1)?.message.content ?? '';
    // The package really answers with markup (the test would prove nothing otherwise).
    expect(answer).toMatch(/<img src=x\d+ onerror="window\.pwned\+\+">|<script>window\.pwned\+\+/);
    const body = page.locator('#markup .msg.assistant .body').last();
    expect(((await body.textContent()) ?? '').replace(/\s+/g, '')).toBe(answer.replace(/\s+/g, ''));
    const tags = await body.evaluate((b) => [...b.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()));
    expect(tags.filter((t) => !['p', 'br'].includes(t))).toEqual([]);
    expect(await page.locator('#markup img, #markup script, #markup [onerror], #markup [onclick]').count()).toBe(0);
    expect(await page.evaluate(() => window.pwned)).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a chat template that loops is stopped: invalid-model in the element, the message back in the box', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    await page.evaluate((m) => window.chatMount('loop', { ...{ 'context-tokens': '256', 'max-tokens': '8' }, model: m }), `${session.baseUrl}/e2e/output/component-faults/loop/`);
    await page.waitForFunction(() => window.chatEvents('loop').ready || window.chatEvents('loop').errors.length > 0, undefined, { timeout: 120_000 });
    const loaded = await events(page, 'loop');
    if (loaded.ready) {
      expect(await send(page, 'loop', QUESTION)).toBe('error');
      expect(await page.locator('#loop .msg.error').getAttribute('data-code')).toBe('invalid-model');
      expect(await page.locator('#loop textarea').inputValue()).toBe(QUESTION);
    }
    const error = (await events(page, 'loop')).errors.at(-1);
    expect(error?.code).toBe('invalid-model');
    expect(error?.message).toMatch(/chat template was stopped: it ran past \d+ steps/);
    expect(errors).toEqual([]);
  });

  it('storage quota smaller than the package: storage-quota-exceeded with the size needed, nothing left cached; more quota loads; a conversation that cannot be saved says so', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    const manifest = JSON.parse(readFileSync(join(OUTPUT, 'tiny', 'manifest.json'), 'utf8')) as { shards: { sizeBytes: number }[] };
    const shardBytes = manifest.shards.reduce((n, f) => n + f.sizeBytes, 0);
    // Chromium's own quota for this origin, lowered through the DevTools protocol: writes past it fail, as on a nearly
    // full disk. navigator.storage.estimate() does not show it (Chromium 156 reports 10 GiB whatever the quota), so the
    // engine's preflight passes and the refused write is what the loader must handle.
    const cdp = await page.context().newCDPSession(page);
    const quotaBytes = Math.floor(shardBytes / 4);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: session.baseUrl, quotaSize: quotaBytes });
    await page.evaluate((m) => window.chatMount('quota', { ...{ 'context-tokens': '256', 'max-tokens': '8' }, model: m }), modelUrl);
    await page.waitForFunction(() => window.chatEvents('quota').ready || window.chatEvents('quota').errors.length > 0, undefined, { timeout: 120_000 });
    const error = (await events(page, 'quota')).errors[0];
    expect(error?.code).toBe('storage-quota-exceeded');
    const needed = /needs ([\d.]+) MB more storage/.exec(error?.message ?? '')?.[1];
    expect(Number(needed) * 1e6).toBeGreaterThan(shardBytes * 0.99);
    expect(await page.locator('#quota').evaluate((el) => el.shadowRoot?.textContent ?? '')).toContain('storage-quota-exceeded');
    const cached = await page.evaluate(() => window.cachedModels());
    expect(cached.reduce((n, m) => n + m.sizeBytes, 0)).toBeLessThan(shardBytes / 100);

    await cdp.send('Storage.overrideQuotaForOrigin', { origin: session.baseUrl });
    await page.locator('#quota button.primary').click();
    await page.waitForFunction(() => window.chatEvents('quota').ready || window.chatEvents('quota').errors.length > 1, undefined, { timeout: 120_000 });
    expect((await events(page, 'quota')).ready).toBe(true);

    // A saved conversation that no longer fits: the answer comes, the element says the chat was not saved.
    await page.locator('#quota').evaluate((el) => el.setAttribute('persist-key', 'full'));
    // The element has read (and so created) its database before the quota drops.
    await page.waitForFunction(async () => (await indexedDB.databases()).some((d) => d.name === 'sarashina-chat'));
    // A quota below what the site already stores: every further write is refused.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: session.baseUrl, quotaSize: 1 });
    await send(page, 'quota', QUESTION, IMAGE);
    await page.waitForFunction(() => window.chatEvents('quota').messages.length > 0, undefined, { timeout: 120_000 });
    await page.waitForFunction(() => window.chatEvents('quota').errors.some((e) => /could not be saved/.test(e.message)), undefined, { timeout: 30_000 });
    const saveError = (await events(page, 'quota')).errors.find((e) => /could not be saved/.test(e.message));
    expect(saveError?.code).toBe('storage-quota-exceeded');
    expect(await page.locator('#quota .msg.error[data-code="storage-quota-exceeded"]').count()).toBeGreaterThan(0);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: session.baseUrl });
    expect(errors).toEqual([]);
  });

  it('a memory budget too small for the context: out-of-memory before any download, with the numbers; the context it names loads', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    const mount = async (budget: number): Promise<{ code: string; message: string } | undefined> => {
      await page.evaluate(({ m, b }) => window.chatMount('oom', { 'context-tokens': '4096', 'max-tokens': '8', 'memory-budget': String(b), model: m }), { m: modelUrl, b: budget });
      await page.waitForFunction(() => window.chatEvents('oom').ready || window.chatEvents('oom').errors.length > 0, undefined, { timeout: 120_000 });
      return (await events(page, 'oom')).errors[0];
    };
    // A 1-byte budget: refused, and the message breaks the estimate down.
    const none = await mount(1);
    expect(none?.code).toBe('out-of-memory');
    const MiB = 2 ** 20;
    const part = (name: string): number => Number(new RegExp(`${name} ([\\d.]+) MiB`).exec(none?.message ?? '')?.[1]) * MiB;
    expect(none?.message).toMatch(/needs an estimated [\d.]+ MiB of GPU memory at 4096 context tokens \(weights [\d.]+ MiB \+ KV cache [\d.]+ MiB \+ activations [\d.]+ MiB\), over the memory budget of 0\.0 MiB/);
    // A budget with room for a tenth of the KV cache: refused at 4096 tokens, naming the context that fits.
    const error = await mount(Math.round(part('weights') + part('activations') + part('KV cache') / 10));
    expect(error?.code).toBe('out-of-memory');
    const fitting = Number(/lower contextTokens to at most (\d+)/.exec(error?.message ?? '')?.[1]);
    expect(fitting).toBeGreaterThan(100);
    expect(fitting).toBeLessThan(4096 / 5);
    // Refused before downloading anything.
    expect(await page.evaluate(() => window.cachedModels())).toEqual([]);
    // The setting the message names loads and answers.
    await page.locator('#oom').evaluate((el, n) => el.setAttribute('context-tokens', String(n)), fitting);
    await page.waitForFunction(() => window.chatEvents('oom').ready || window.chatEvents('oom').errors.length > 1, undefined, { timeout: 120_000 });
    expect((await events(page, 'oom')).errors.slice(1)).toEqual([]);
    expect(await page.locator('#oom').evaluate((el) => (el as HTMLElement & { engineInfo: { contextTokens: number } | null }).engineInfo?.contextTokens)).toBe(fitting);
    expect(await send(page, 'oom', QUESTION)).toBe('message');
    expect(errors).toEqual([]);
  });

  it('the GPU running out of memory during load: out-of-memory in the element; a smaller context loads and answers', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    const model = `${session.baseUrl}/e2e/output/component-faults/long/`;
    // A budget far above the estimate, so the plan lets the load reach the device.
    await page.evaluate((m) => window.chatMount('gpu-oom', { 'context-tokens': String(2 ** 22), 'memory-budget': String(2 ** 40), 'max-tokens': '8', model: m }), model);
    await page.waitForFunction(() => window.chatEvents('gpu-oom').ready || window.chatEvents('gpu-oom').errors.length > 0, undefined, { timeout: 120_000 });
    const error = (await events(page, 'gpu-oom')).errors[0];
    expect(error?.code).toBe('out-of-memory');
    expect(error?.message).toMatch(/could not allocate the KV cache for 4194304 tokens/);
    expect(await page.locator('#gpu-oom').evaluate((el) => el.shadowRoot?.textContent ?? '')).toContain('out-of-memory');
    await page.locator('#gpu-oom').evaluate((el) => el.setAttribute('context-tokens', '256'));
    await page.waitForFunction(() => window.chatEvents('gpu-oom').ready || window.chatEvents('gpu-oom').errors.length > 1, undefined, { timeout: 120_000 });
    expect((await events(page, 'gpu-oom')).errors.slice(1)).toEqual([]);
    expect(await send(page, 'gpu-oom', QUESTION)).toBe('message');
    expect(errors).toEqual([]);
  });
});
