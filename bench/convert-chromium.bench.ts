/**
 * Conversion throughput in Chromium (headless, this machine): a checkpoint folder served in the Hub's layout
 * (src/testing/hub-server.ts) converted into OPFS by createEngine's opening step on a page (e2e/pages/checkpoint.ts
 * ckptConvert: the browser platform with the engine's chooser, no model load). Reports seconds and MB/s of checkpoint
 * tensor bytes.
 *
 *   node node_modules/vite-node/dist/cli.mjs bench/convert-chromium.bench.ts -- --checkpoint DIR [--out result.json]
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startE2e } from '../e2e/harness';
import { startHubServer } from '../src/testing/hub-server';

const { values } = parseArgs({ allowPositionals: true, options: { checkpoint: { type: 'string' }, out: { type: 'string' } } });
if (!values.checkpoint) {
  console.error('Usage: bench/convert-chromium.bench.ts -- --checkpoint DIR [--out result.json]');
  process.exit(2);
}
const sha = createHash('sha1').update(resolve(values.checkpoint)).digest('hex');
const hub = await startHubServer({ repos: { 'bench/checkpoint': { commits: { [sha]: resolve(values.checkpoint) }, refs: { main: sha } } } });
const session = await startE2e();
try {
  const { page } = await session.open('/e2e/pages/checkpoint.html');
  await page.waitForFunction(() => typeof window.ckptConvert === 'function');
  const started = performance.now();
  const result = await page.evaluate((o) => window.ckptConvert(o), { model: 'bench/checkpoint', hubEndpoint: hub.url });
  const seconds = (performance.now() - started) / 1000;
  if (result.error) throw new Error(JSON.stringify(result.error));
  const summary = {
    checkpoint: resolve(values.checkpoint),
    precision: result.opened?.precision,
    seconds: Number(seconds.toFixed(1)),
    inputBytes: result.lastConvert?.totalBytes,
    downloadedBytes: result.lastConvert?.downloadedBytes,
    inputMBps: Number(((result.lastConvert?.totalBytes ?? 0) / seconds / 1e6).toFixed(1)),
    chromium: await session.browser.version(),
  };
  console.log(JSON.stringify(summary, null, 1));
  if (values.out) writeFileSync(values.out, `${JSON.stringify(summary, null, 1)}\n`);
} finally {
  await session.close();
  await hub.close();
}
