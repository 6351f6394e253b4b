/**
 * The trained default model in Chromium (WebGPU on SwiftShader) through <sarashina-chat>, as a user chats: the
 * element loads the q4f32 package (exported by the project's exporter into e2e/output, git-ignored), a
 * fresh test-split picture is picked in its file input, the question typed and sent with Enter, then a follow-up
 * question typed about the same picture (multi-turn: the history and the picture stay in the prompt); the answers
 * are read from the element's DOM. Pictures: export/train/accuracy-cases.ts (several shapes mostly, every question
 * kind, Japanese and English). ≥ 90 % of the answers must be exactly right: a numerical bug in any browser-side
 * kernel, the browser image decoder, the processor, the tokenizer or the chat template turns them wrong.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccuracyCase, accuracyCases, trainedOnNaturalWordings } from '../export/train/accuracy-cases';
import { exportPackage } from '../export/package/export-package';
import { type E2eSession, REPO_ROOT, startE2e } from './harness';

const OUTPUT = join(REPO_ROOT, 'e2e/output/trained-model-component');
const REQUIRED_ACCURACY = 0.9;
/** A batch apart from the CLI test's pictures; two turns per picture. */
const CASES = accuracyCases({ pictures: 4, turnsPerPicture: 2, maxPicturePixels: 130 * 130, firstIndex: 200 });
/** Issue 16, only for weights whose metadata says they were trained with natural wordings and varied pictures: one
 * picture the original generator would not draw, asked two held-out wordings (the CLI test asks ten more). */
const HELDOUT_ENABLED = await trainedOnNaturalWordings(join(REPO_ROOT, 'export/train/checkpoint'));
const HELDOUT = HELDOUT_ENABLED ? accuracyCases({ pictures: 1, turnsPerPicture: 2, maxPicturePixels: 180 * 180, firstIndex: 200, split: 'heldout-test' }) : [];
/** q4f32, the variant a browser without shader-f16 (SwiftShader here) gets: the int4 kernels, the f16 embedding table.
 * fp32 is checked in the browser against Hugging Face's logits by e2e/chat.test.ts and for accuracy by the CLI test. */
const PRECISIONS = ['q4f32'] as const;

async function answerCount(page: Page): Promise<number> {
  return page.evaluate(() => window.componentEvents().messages.length);
}

/** Types `text` into the element's text box, sends it with Enter and returns the answer shown in the DOM. */
async function ask(page: Page, text: string): Promise<string> {
  const before = await answerCount(page);
  await page.locator('sarashina-chat textarea').fill(text);
  await page.locator('sarashina-chat textarea').press('Enter');
  await page.waitForFunction((n) => window.componentEvents().messages.length > n || window.componentEvents().errors.length > 0, before, { timeout: 120_000 });
  expect((await page.evaluate(() => window.componentEvents())).errors).toEqual([]);
  const bubble = page.locator('sarashina-chat .msg.assistant').last();
  expect(await bubble.getAttribute('aria-busy')).toBeNull();
  return ((await bubble.locator('.body').textContent()) ?? '').trim();
}

describe('trained default model in <sarashina-chat> (Chromium, fresh pictures, follow-up questions)', () => {
  let session: E2eSession;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    await rm(OUTPUT, { recursive: true, force: true });
    for (const precision of PRECISIONS) await exportPackage(join(REPO_ROOT, 'export/train/checkpoint'), join(OUTPUT, precision), { precision });
    await mkdir(join(OUTPUT, 'pictures'), { recursive: true });
    for (const c of CASES) await writeFile(join(OUTPUT, 'pictures', `${c.index}.png`), c.png);
    for (const c of HELDOUT) await writeFile(join(OUTPUT, 'pictures', `heldout-${c.index}.png`), c.png);
    session = await startE2e();
    ({ page, errors } = await session.open('/e2e/pages/component.html'));
    await page.waitForFunction(() => typeof window.componentMount === 'function');
  });

  afterAll(async () => {
    await session?.close();
    await rm(OUTPUT, { recursive: true, force: true });
  });

  it('asks a general batch: several shapes mostly, every kind, Japanese and English, follow-ups', () => {
    const questions = CASES.flatMap((c) => c.turns.map((q) => ({ ...q, objects: c.objects })));
    expect(questions).toHaveLength(8);
    expect(questions.filter((q) => q.objects > 1).length).toBeGreaterThanOrEqual(6);
    expect(new Set(questions.map((q) => q.kind))).toEqual(new Set(['colour', 'count', 'position', 'shape', 'describe']));
    expect(new Set(questions.map((q) => q.language))).toEqual(new Set(['ja', 'en']));
  });

  for (const precision of PRECISIONS) {
    it(`answers ≥ ${REQUIRED_ACCURACY * 100} % right with the ${precision} package`, async () => {
      const model = `${session.baseUrl}/e2e/output/trained-model-component/${precision}/`;
      await page.evaluate((m) => window.componentMount({ model: m, 'context-tokens': '512', 'max-tokens': '40' }), model);
      await page.waitForFunction((p) => document.querySelector('sarashina-chat')?.engineInfo?.precision === p || window.componentEvents().errors.length > 0, precision, {
        timeout: 120_000,
      });
      expect((await page.evaluate(() => window.componentEvents())).errors).toEqual([]);
      const { asked, wrong } = await askCases(CASES, 'picture');
      console.log(`component ${precision}: ${asked - wrong.length}/${asked} right${wrong.length ? `; wrong: ${wrong.join('; ')}` : ''}`);
      expect(1 - wrong.length / asked, wrong.join('\n')).toBeGreaterThanOrEqual(REQUIRED_ACCURACY);
      expect(errors).toEqual([]);
    }, 480_000);

    it.skipIf(!HELDOUT_ENABLED)(`answers held-out wordings about a varied picture with the ${precision} package (needs weights trained with natural wordings)`, async () => {
      expect(await page.evaluate(() => document.querySelector('sarashina-chat')?.engineInfo?.precision)).toBe(precision);
      const { asked, wrong } = await askCases(HELDOUT, 'heldout');
      console.log(`component ${precision}, held-out: ${asked - wrong.length}/${asked} right${wrong.length ? `; wrong: ${wrong.join('; ')}` : ''}`);
      expect(1 - wrong.length / asked, wrong.join('\n')).toBeGreaterThanOrEqual(REQUIRED_ACCURACY);
      expect(errors).toEqual([]);
    }, 240_000);
  }

  /** Picks each case's picture (written as `<prefix>-<index>.png`, or `<index>.png` for 'picture'), asks its turns, clears. */
  async function askCases(cases: readonly AccuracyCase[], prefix: 'picture' | 'heldout'): Promise<{ asked: number; wrong: string[] }> {
    const wrong: string[] = [];
    let asked = 0;
    for (const c of cases) {
      await page.locator('sarashina-chat input[type=file]').setInputFiles(join(OUTPUT, 'pictures', prefix === 'picture' ? `${c.index}.png` : `heldout-${c.index}.png`));
      expect(await page.locator('sarashina-chat .thumb img').count()).toBe(1);
      for (const qa of c.turns) {
        const answer = await ask(page, qa.question);
        asked++;
        if (answer !== qa.answer) wrong.push(`${prefix} ${c.index}: ${qa.question} → ${JSON.stringify(answer)} (expected ${JSON.stringify(qa.answer)})`);
      }
      // Both turns are in the chat, the picture in the first.
      expect(await page.locator('sarashina-chat .msg.user').count()).toBe(c.turns.length);
      expect(await page.locator('sarashina-chat .msg.user img').count()).toBe(1);
      await page.locator('sarashina-chat button.clear').click();
    }
    return { asked, wrong };
  }

  it('with persist-key the conversation survives a reload: picture and turns shown again, a follow-up about the picture answered right; clear deletes it', async () => {
    const [c] = accuracyCases({ pictures: 1, turnsPerPicture: 2, maxPicturePixels: 130 * 130, firstIndex: 300 });
    const [first, followUp] = c?.turns ?? [];
    if (!c || !first || !followUp) throw new Error('no accuracy case');
    const picture = join(OUTPUT, 'pictures', `persist-${c.index}.png`);
    await writeFile(picture, c.png);
    const attributes = { model: `${session.baseUrl}/e2e/output/trained-model-component/q4f32/`, 'context-tokens': '512', 'max-tokens': '40', 'persist-key': 'shapes' };
    const mount = async (): Promise<void> => {
      await page.waitForFunction(() => typeof window.componentMount === 'function');
      await page.evaluate((a) => window.componentMount(a), attributes);
      // The element's own engineInfo: the page's recorded events may hold an earlier element's `ready`.
      await page.waitForFunction(() => (document.querySelector('sarashina-chat')?.engineInfo ?? null) !== null || window.componentEvents().errors.length > 0, undefined, {
        timeout: 120_000,
      });
      expect((await page.evaluate(() => window.componentEvents())).errors).toEqual([]);
    };
    const shownTurns = (): Promise<{ user: boolean; text: string; images: number }[]> =>
      page.locator('sarashina-chat .msg').evaluateAll((boxes) =>
        boxes.map((b) => ({
          user: b.classList.contains('user'),
          text: ((b.classList.contains('user') ? b.lastChild?.textContent : b.querySelector('.body')?.textContent) ?? '').trim(),
          images: b.querySelectorAll('img').length,
        })),
      );
    await mount();
    await page.locator('sarashina-chat input[type=file]').setInputFiles(picture);
    const firstAnswer = await ask(page, first.question);
    const before = await shownTurns();
    expect(before).toEqual([
      { user: true, text: first.question, images: 1 },
      { user: false, text: firstAnswer, images: 0 },
    ]);

    await page.reload();
    await mount();
    expect(await shownTurns()).toEqual(before);
    // The follow-up names no picture: the restored one is resent with the history, and the answer is about it.
    expect(await ask(page, followUp.question)).toBe(followUp.answer);
    expect((await page.evaluate(() => window.componentEvents())).messages.at(-1)?.usage?.image_tokens).toBeGreaterThan(0);

    // Clear deletes the saved conversation (clear → reload → empty: e2e/component-faults.test.ts, on the tiny model).
    await page.locator('sarashina-chat button.clear').click();
    await page.waitForFunction(
      () =>
        new Promise<boolean>((resolve) => {
          const open = indexedDB.open('sarashina-chat');
          open.onsuccess = () => {
            const get = open.result.transaction('conversations').objectStore('conversations').get('shapes');
            get.onsuccess = () => resolve(get.result === undefined);
          };
        }),
    );
    expect(errors).toEqual([]);
  }, 480_000);
});
