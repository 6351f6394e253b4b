/**
 * The trained default model through the chat CLI (`npm run chat -- --questions`: src/cli/chat.ts's argument parsing,
 * the questions file and its image files, createNodeEngine on Dawn — on the adapter $SARASHINA_TEST_ADAPTER names,
 * SwiftShader by default, checked from the CLI's own report — and one JSON answer line per question), for its q4f32
 * package exported by the project's exporter: questions about fresh test-split pictures (never trained on;
 * export/train/accuracy-cases.ts — several shapes mostly, every question kind, Japanese and English) must be
 * answered exactly right ≥ 90 % of the time. The model answers these ~99 % right in the Hugging Face reference
 * (bench/BENCH.md, "Trained default model"), so a numerical bug in any kernel, the image decoder, the processor
 * or the tokenizer shows up as wrong answers. Weights trained with natural wordings (issue 16) are also asked ten
 * held-out wordings about varied pictures, in the same CLI process.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accuracyCases, trainedOnNaturalWordings } from '../export/train/accuracy-cases';
import { exportPackage } from '../export/package/export-package';
import { TEST_ADAPTERS, testAdapter, testAdapterEnv } from '../src/testing/node-gpu';
import { REPO_ROOT } from './harness';

const OUTPUT = join(REPO_ROOT, 'e2e/output/trained-model-cli');
const REQUIRED_ACCURACY = 0.9;
/** One CLI process per package asks every question (`--questions`): a process compiles its kernels on SwiftShader
 * (10–40 s) once. A few pictures, one of them a description (its ~25 decode steps are where decode-kernel errors
 * show; the short answers are decided by the prompt). Counts are asked in the component test. */
const CLASSIC = accuracyCases({ pictures: 4, turnsPerPicture: 1, maxPicturePixels: 130 * 130 });
/** Issue 16, asked only when the checkpoint's metadata says it was trained with natural wordings and varied pictures
 * (train_shapes.py run 4; earlier weights never saw them): pictures the original generator would not draw (other
 * sizes and backgrounds, antialiasing, blur, noise, JPEG) asked in held-out wordings. Ten, so one may be wrong. */
const HELDOUT_ENABLED = await trainedOnNaturalWordings(join(REPO_ROOT, 'export/train/checkpoint'));
const HELDOUT = HELDOUT_ENABLED ? accuracyCases({ pictures: 10, turnsPerPicture: 1, maxPicturePixels: 180 * 180, split: 'heldout-test' }) : [];
const CASES = [...CLASSIC, ...HELDOUT];

interface ChatRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function npmRunChat(args: readonly string[]): Promise<ChatRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...testAdapterEnv() };
    const child = spawn('npm', ['run', '--silent', 'chat', '--', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** q4f32: the int4 path a GPU without shader-f16 gets. fp32 is exact against Hugging Face's logits in the CLI's own
 * test (src/cli/chat.test.ts, --dump) and in the browser (e2e/chat.test.ts); a second CLI process cost ~45 s of CI. */
const PRECISIONS = ['q4f32'] as const;

const QUESTIONS = CASES.map((c) => {
  const qa = c.turns[0];
  if (!qa) throw new Error(`case ${c.index} has no question`);
  return qa;
});

/** Exports the `precision` package and asks every question through one CLI process. */
async function askAll(precision: (typeof PRECISIONS)[number]): Promise<ChatRun> {
  const model = join(OUTPUT, precision);
  await exportPackage(join(REPO_ROOT, 'export/train/checkpoint'), model, { precision });
  const file = join(OUTPUT, `${precision}-questions.jsonl`);
  await writeFile(file, CASES.map((_, i) => JSON.stringify({ images: [join('pictures', `${i}.png`)], prompt: QUESTIONS[i]?.question })).join('\n'));
  return npmRunChat(['--model', model, '--questions', file, '--max-new-tokens', '40']);
}

describe('trained default model through the chat CLI (Node, fresh pictures)', () => {
  /** The CLI runs, started in beforeAll (one per package). */
  const runs = new Map<string, Promise<ChatRun>>();

  beforeAll(async () => {
    await rm(OUTPUT, { recursive: true, force: true });
    await mkdir(join(OUTPUT, 'pictures'), { recursive: true });
    for (const [i, c] of CASES.entries()) await writeFile(join(OUTPUT, 'pictures', `${i}.png`), c.png);
    for (const precision of PRECISIONS) {
      const run = askAll(precision);
      run.catch(() => undefined); // awaited (and reported) by its test
      runs.set(precision, run);
    }
  });

  afterAll(async () => {
    await Promise.allSettled(runs.values());
    await rm(OUTPUT, { recursive: true, force: true });
  });

  it('asks a general batch: several shapes mostly, referring questions, Japanese and English', () => {
    const questions = CLASSIC.flatMap((c) => c.turns.map((q) => ({ ...q, objects: c.objects })));
    expect(questions).toHaveLength(4);
    expect(questions.filter((q) => q.objects > 1).length).toBeGreaterThanOrEqual(3);
    expect(new Set(questions.map((q) => q.kind))).toEqual(new Set(['colour', 'position', 'describe', 'shape']));
    expect(new Set(questions.map((q) => q.language))).toEqual(new Set(['ja', 'en']));
  });

  /** Wrong answers among questions first…first+count−1 of the CLI run of `precision`. */
  async function wrongAnswers(precision: string, first: number, count: number): Promise<string[]> {
    const run = await (runs.get(precision) as Promise<ChatRun>);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.toLowerCase(), 'the CLI runs on the test adapter').toContain(TEST_ADAPTERS[testAdapter()].identity);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; answer?: string; error?: unknown });
    expect(lines.map((l) => l.index)).toEqual(QUESTIONS.map((_, i) => i));
    const wrong: string[] = [];
    for (let i = first; i < first + count; i++) {
      const qa = QUESTIONS[i];
      if (!qa) throw new Error(`no question ${i}`);
      const answer = (lines[i]?.answer ?? JSON.stringify(lines[i]?.error)).trim();
      if (answer !== qa.answer) wrong.push(`${qa.question} → ${JSON.stringify(answer)} (expected ${JSON.stringify(qa.answer)})`);
    }
    return wrong;
  }

  for (const precision of PRECISIONS) {
    it(`answers ≥ ${REQUIRED_ACCURACY * 100} % right with the ${precision} package`, async () => {
      const wrong = await wrongAnswers(precision, 0, CLASSIC.length);
      console.log(`CLI ${precision}: ${CLASSIC.length - wrong.length}/${CLASSIC.length} right${wrong.length ? `; wrong: ${wrong.join('; ')}` : ''}`);
      expect(1 - wrong.length / CLASSIC.length, wrong.join('\n')).toBeGreaterThanOrEqual(REQUIRED_ACCURACY);
    }, 900_000);

    it.skipIf(!HELDOUT_ENABLED)(`answers held-out wordings about varied pictures ≥ ${REQUIRED_ACCURACY * 100} % right with the ${precision} package (needs weights trained with natural wordings)`, async () => {
      expect(new Set(HELDOUT.flatMap((c) => c.turns.map((q) => q.kind)))).toEqual(new Set(['colour', 'count', 'position', 'shape', 'describe']));
      const wrong = await wrongAnswers(precision, CLASSIC.length, HELDOUT.length);
      console.log(`CLI ${precision}, held-out: ${HELDOUT.length - wrong.length}/${HELDOUT.length} right${wrong.length ? `; wrong: ${wrong.join('; ')}` : ''}`);
      expect(1 - wrong.length / HELDOUT.length, wrong.join('\n')).toBeGreaterThanOrEqual(REQUIRED_ACCURACY);
    }, 900_000);
  }
});
