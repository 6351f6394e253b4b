/**
 * The trained default model answers questions about fresh pictures (the dataset's test split, never trained on)
 * through the whole Node engine: exporter → package → createNodeEngine (WebGPU kernels + ORT) → greedy answer.
 * Exact-match accuracy must reach 90 % for the fp32 and the q4f32 package; any numerical bug in a kernel,
 * the image processor or the tokenizer turns answers wrong, which a parity test on a random model cannot see.
 * The questions: accuracy-cases.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../src/api/node-platform';
import type { LocalEngine } from '../../src/api/local-engine';
import { exportPackage } from '../package/export-package';
import { accuracyCases, type AccuracyCase } from './accuracy-cases';

const CHECKPOINT = 'export/train/checkpoint';
const REQUIRED_ACCURACY = 0.9;
/** SwiftShader runs WebGPU on the CPU (≈ 2 s per answer): small pictures, two of each kind, keep this short. */
const CASES = { picturesPerKind: 2, maxPicturePixels: 130 * 130 } as const;

async function accuracy(engine: LocalEngine, cases: readonly AccuracyCase[]): Promise<{ accuracy: number; wrong: string[] }> {
  const wrong: string[] = [];
  for (const { png, qa } of cases) {
    const url = new Blob([png.slice()], { type: 'image/png' });
    const reply = await engine.chat.completions.create({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: qa.question }] }],
      max_tokens: 12,
    });
    const text = reply.choices[0].message.content.trim();
    if (text !== qa.answer) wrong.push(`${qa.question} → ${JSON.stringify(text)} (expected ${JSON.stringify(qa.answer)})`);
  }
  return { accuracy: 1 - wrong.length / cases.length, wrong };
}

describe('trained default model on fresh pictures', () => {
  let dir = '';
  const cases = accuracyCases(CASES);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trained-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('asks enough questions of every kind', () => {
    const kinds = new Set(cases.map((c) => `${c.qa.kind}/${c.qa.language}`));
    expect(cases.length).toBe(10);
    for (const kind of ['count/ja', 'colour/ja', 'colour/en', 'position/ja', 'shape/ja']) expect(kinds).toContain(kind);
  });

  for (const precision of ['fp32', 'q4f32'] as const) {
    it(`answers ≥ ${REQUIRED_ACCURACY * 100} % right with the ${precision} package`, async () => {
      await exportPackage(CHECKPOINT, join(dir, precision), { precision });
      const engine = await createNodeEngine({ model: join(dir, precision), contextTokens: 256 });
      try {
        const result = await accuracy(engine, cases);
        console.log(`${precision}: ${(result.accuracy * 100).toFixed(1)} % of ${cases.length}${result.wrong.length ? `; wrong: ${result.wrong.join('; ')}` : ''}`);
        expect(result.accuracy, result.wrong.join('\n')).toBeGreaterThanOrEqual(REQUIRED_ACCURACY);
      } finally {
        await engine.dispose();
      }
    }, 240_000);
  }
});
