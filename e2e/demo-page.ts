/** Driving the demo page like a person: wait for the engine, attach an image, type, send, read the answer and timings. */
import type { Page } from 'playwright-core';

export interface DemoAnswer {
  readonly text: string;
  /** `token` events seen while answering (a streamed answer has several). */
  readonly tokenEvents: number;
  /** The `message` event's content (must equal what the page shows). */
  readonly messageContent: string;
  /** Shown timings, by data-metric key (ttft, image-encode, tokens-per-second, tokens). */
  readonly metrics: Record<string, string>;
}

/**
 * Waits until the engine reported `ready` with `contains` in the status line and returns the status text.
 * Fails at once when the page shows an error status (the status line's `bad` class), naming it.
 */
export async function waitEngineReady(page: Page, contains = '準備完了', timeoutMs = 180_000): Promise<string> {
  const read = (): Promise<{ status: string; bad: boolean }> =>
    page.evaluate(() => {
      const el = document.querySelector('#engine-status');
      return { status: el?.textContent ?? '', bad: el?.classList.contains('bad') ?? false };
    });
  try {
    await page.waitForFunction(
      (t) => {
        const el = document.querySelector('#engine-status');
        return (el?.textContent?.includes(t) ?? false) || (el?.classList.contains('bad') ?? false);
      },
      contains,
      { timeout: timeoutMs },
    );
  } catch (e) {
    throw new Error(`engine not ready with "${contains}" after ${timeoutMs} ms: status "${(await read()).status}" (${String(e)})`);
  }
  const { status, bad } = await read();
  if (bad) throw new Error(`the page shows an error instead of "${contains}": ${status}`);
  return status;
}

/** Sends `text` (with `imagePath` attached through the file picker when given) and waits for the answer's timings. */
export async function askDemo(page: Page, text: string, imagePath?: string): Promise<DemoAnswer> {
  if (imagePath) {
    await page.setInputFiles('sarashina-chat input[type=file]', imagePath);
    await page.waitForSelector('sarashina-chat .thumbs img');
  }
  await page.fill('sarashina-chat textarea', text);
  return sendDemo(page);
}

/** Sends what the composer holds (the send button) and waits for the answer's timings. */
export async function sendDemo(page: Page): Promise<DemoAnswer> {
  await page.evaluate(() => {
    const w = window as unknown as { demoTest: { tokens: number; message: string | null } };
    w.demoTest = { tokens: 0, message: null };
    const chat = document.querySelector('sarashina-chat');
    chat?.addEventListener('token', () => w.demoTest.tokens++);
    chat?.addEventListener('message', (e) => {
      w.demoTest.message = (e as CustomEvent<{ message: { content: string } }>).detail.message.content;
    });
    document.querySelector('#metrics')?.replaceChildren();
  });
  await page.click('sarashina-chat button.send');
  await page.waitForSelector('#metrics [data-metric="ttft"]', { timeout: 180_000 });
  return page.evaluate(() => {
    const w = window as unknown as { demoTest: { tokens: number; message: string | null } };
    const bodies = document.querySelector('sarashina-chat')?.shadowRoot?.querySelectorAll('.msg.assistant .body') ?? [];
    const last = bodies[bodies.length - 1];
    const metrics: Record<string, string> = {};
    for (const el of document.querySelectorAll<HTMLElement>('#metrics [data-metric]')) metrics[el.dataset.metric ?? ''] = el.querySelector('dd')?.textContent ?? '';
    return { text: last?.textContent ?? '', tokenEvents: w.demoTest.tokens, messageContent: w.demoTest.message ?? '', metrics };
  });
}
