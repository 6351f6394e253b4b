/**
 * The trained default model in Chromium (WebGPU on SwiftShader) through the Worker client: its q4f32 package,
 * exported by the project's exporter into e2e/output (git-ignored), answers questions about fresh pictures of
 * the dataset's test split (export/train/accuracy-cases.ts) right, ≥ 90 % exact match. A numerical bug in any
 * browser-side kernel, the browser image decoder or the tokenizer turns these answers wrong.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accuracyCases } from '../export/train/accuracy-cases';
import { exportPackage } from '../export/package/export-package';
import type { ChatMessage } from '../src/protocol/api';
import { type E2eSession, REPO_ROOT, startE2e } from './harness';

const OUTPUT = join(REPO_ROOT, 'e2e/output/trained-model');
const CASES = accuracyCases({ picturesPerKind: 1, maxPicturePixels: 130 * 130 });

describe('trained default model in Chromium (worker, q4f32)', () => {
  let session: E2eSession;
  let page: Awaited<ReturnType<E2eSession['open']>>['page'];
  let errors: string[];

  beforeAll(async () => {
    await rm(OUTPUT, { recursive: true, force: true });
    await exportPackage(join(REPO_ROOT, 'export/train/checkpoint'), join(OUTPUT, 'package'), { precision: 'q4f32' });
    await mkdir(join(OUTPUT, 'pictures'), { recursive: true });
    for (const c of CASES) await writeFile(join(OUTPUT, 'pictures', `${c.index}.png`), c.png);
    session = await startE2e();
    ({ page, errors } = await session.open('/e2e/pages/chat.html'));
    await page.waitForFunction(() => typeof window.chatLoad === 'function');
  });

  afterAll(async () => {
    await session?.close();
    await rm(OUTPUT, { recursive: true, force: true });
  });

  it('answers colour, place, shape and count questions on fresh pictures', async () => {
    await page.evaluate(([m]) => window.chatLoad(m, 256), [`${session.baseUrl}/e2e/output/trained-model/package/`] as const);
    const wrong: string[] = [];
    for (const c of CASES) {
      const messages: ChatMessage[] = [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: `/e2e/output/trained-model/pictures/${c.index}.png` } }, { type: 'text', text: c.qa.question }] },
      ];
      const out = await page.evaluate(([msgs]) => window.chatComplete(msgs, 12), [messages] as const);
      if (out.text.trim() !== c.qa.answer) wrong.push(`${c.qa.question} → ${JSON.stringify(out.text)} (expected ${JSON.stringify(c.qa.answer)})`);
    }
    console.log(`Chromium q4f32: ${CASES.length - wrong.length}/${CASES.length} right${wrong.length ? `; wrong: ${wrong.join('; ')}` : ''}`);
    expect(CASES.length).toBe(5);
    expect(1 - wrong.length / CASES.length, wrong.join('\n')).toBeGreaterThanOrEqual(0.9);
    await page.evaluate(() => window.chatDispose());
    expect(errors).toEqual([]);
  });
});
