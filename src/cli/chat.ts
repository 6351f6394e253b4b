/**
 * `npm run chat -- --model <dir> ([--image <file>]… --prompt "<text>" | --questions <file.jsonl>) [--system "<text>"] [--max-new-tokens N] [--temperature T] [--memory-budget-gib G] [--dump <file.json>]`
 * The same engine as the browser's, on WebGPU through Dawn (a real GPU, or SwiftShader on a CPU). Streams the
 * answer to stdout, stats to stderr. `--dump` writes the prompt ids, the full first-step logits and the
 * generated ids as JSON, to compare any build with the Hugging Face reference. `--questions` asks many independent
 * questions with one loaded engine (one JSON line each on stdout: {"prompt": "…", "images": ["a.png"]} in, with
 * image paths relative to the file; {"index", "answer", "finish_reason"} or {"index", "error"} out).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { createNodeEngine } from '../api/node-platform';
import type { ChatCompletionChunk, ContentPart } from '../protocol/api';
import type { LocalEngine } from '../api/local-engine';
import { isSarashinaError } from '../protocol/errors';
import type { GenerationResult } from '../generate/generator';
import { type ChatArgs, CHAT_USAGE, parseChatArgs } from './chat-args';
import { truncationNote } from './truncation-note';

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif' };

const NO_WEBGPU_HELP =
  'WebGPU is needed. On a machine with a GPU: install its Vulkan driver (NVIDIA/AMD/Intel; `vulkaninfo` should list it). ' +
  'Without a GPU, SwiftShader (a CPU Vulkan driver, slow but exact) works: `apt-get install -y chromium libvulkan1` on Debian/Ubuntu.';

/** One question: its images (file paths) and its text. */
interface Question {
  readonly images: readonly string[];
  readonly prompt: string;
}

/** Thrown for a bad --image / --questions file: exit code 2 with this message. */
class UsageError extends Error {}

async function imageParts(paths: readonly string[]): Promise<ContentPart[]> {
  const parts: ContentPart[] = [];
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new UsageError(`Cannot read image ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    parts.push({ type: 'image_url', image_url: { url: new Blob([new Uint8Array(bytes)], { type: IMAGE_TYPES[extname(path).toLowerCase()] ?? '' }) } });
  }
  return parts;
}

/** Reads a --questions file: one JSON object per non-empty line; image paths relative to the file. */
async function readQuestions(file: string): Promise<Question[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`Cannot read --questions ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const questions: Question[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const where = `${file} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${where} is not JSON (${e instanceof Error ? e.message : String(e)}). Each line is {"prompt": "…", "images": ["a.png"]}.`);
    }
    const q = value as { prompt?: unknown; images?: unknown };
    if (typeof q !== 'object' || q === null || typeof q.prompt !== 'string') throw new UsageError(`${where} has no "prompt" string. Each line is {"prompt": "…", "images": ["a.png"]}.`);
    const images = q.images ?? [];
    if (!Array.isArray(images) || !images.every((p) => typeof p === 'string')) throw new UsageError(`${where}: "images" must be a list of file paths.`);
    questions.push({ prompt: q.prompt, images: images.map((p: string) => resolve(dirname(file), p)) });
  }
  if (questions.length === 0) throw new UsageError(`${file} holds no questions.`);
  return questions;
}

interface Answer {
  readonly text: string;
  readonly result: GenerationResult | null;
  readonly firstLogits: Float32Array | null;
}

/** Asks one question as a fresh conversation; streams the text to `onText`. */
async function ask(engine: LocalEngine, question: Question, args: ChatArgs, signal: AbortSignal, onText: (text: string) => void): Promise<Answer> {
  const parts = [...(await imageParts(question.images)), { type: 'text', text: question.prompt } as const];
  let firstLogits: Float32Array | null = null;
  let result: GenerationResult | null = null;
  let text = '';
  const stream = (await engine.create(
    {
      messages: [...(args.system === undefined ? [] : [{ role: 'system' as const, content: args.system }]), { role: 'user', content: parts }],
      stream: true,
      temperature: args.temperature,
      signal,
      ...(args.maxNewTokens === undefined ? {} : { max_tokens: args.maxNewTokens }),
    },
    {
      onFirstLogits: (logits) => {
        firstLogits = logits;
      },
      onResult: (r) => {
        result = r;
      },
    },
  )) as AsyncIterable<ChatCompletionChunk>;
  for await (const chunk of stream) {
    const delta = chunk.choices[0].delta.content;
    if (delta) {
      text += delta;
      onText(delta);
    }
  }
  return { text, result, firstLogits };
}

function reportStats(done: GenerationResult): void {
  const { usage, timings } = done;
  console.error(
    `[${done.finishReason}] ${usage.prompt_tokens} prompt tokens (${usage.prefilled_tokens} prefilled, ${usage.image_tokens} image), ` +
      `${usage.completion_tokens} generated; TTFT ${timings.timeToFirstTokenMs.toFixed(0)} ms, ${timings.decodeTokensPerSecond.toFixed(1)} tok/s`,
  );
  const note = truncationNote(usage.truncation);
  if (note) console.error(note);
  for (const warning of done.warnings) console.error(`[warning ${warning.code}] ${warning.message}`);
}

async function main(argv: string[]): Promise<number> {
  let args: ChatArgs;
  let questions: Question[];
  try {
    args = parseChatArgs(argv);
    if (args.help) {
      console.log(CHAT_USAGE);
      return 0;
    }
    questions = args.questions === undefined ? [{ images: args.images, prompt: args.prompt }] : await readQuestions(args.questions);
    // Every image is read before the model loads: a typo fails in a second, not after the download.
    for (const q of questions) await imageParts(q.images);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const engine = await createNodeEngine({ model: args.model, signal: controller.signal, ...(args.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: args.memoryBudgetBytes }) });
  const info = engine.info;
  const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  console.error(
    `[${info.modelId}] ${info.precisionReason}; ${info.contextTokens} context tokens; ~${gib(info.memoryEstimate.totalBytes)} of GPU memory ` +
      `(budget ${gib(info.memoryBudgetBytes)}: ${info.memoryBudgetReason}); ${info.adapter}`,
  );
  try {
    if (args.questions !== undefined) {
      // One JSON line per question on stdout; a question that fails (a bad image, too long) reports its error and
      // the rest still run. The exit code is 1 when any failed.
      let failed = 0;
      for (const [index, question] of questions.entries()) {
        try {
          const { text, result } = await ask(engine, question, args, controller.signal, () => undefined);
          if (result) reportStats(result);
          process.stdout.write(`${JSON.stringify({ index, answer: text, finish_reason: result?.finishReason ?? null })}\n`);
        } catch (e) {
          if (!isSarashinaError(e)) throw e;
          failed++;
          process.stdout.write(`${JSON.stringify({ index, error: { code: e.code, message: e.message } })}\n`);
        }
      }
      return failed > 0 ? 1 : 0;
    }
    const question = questions[0] as Question;
    const { result, firstLogits } = await ask(engine, question, args, controller.signal, (t) => process.stdout.write(t));
    process.stdout.write('\n');
    if (!result) return 1;
    reportStats(result);
    if (args.dump) {
      const dump = { inputIds: Array.from(result.inputIds), firstLogits: firstLogits ? Array.from(firstLogits) : [], generatedIds: [...result.generatedIds] };
      await writeFile(args.dump, JSON.stringify(dump));
      console.error(`Wrote ${args.dump}.`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (isSarashinaError(e)) {
      console.error(`\nchat failed [${e.code}]: ${e.message}`);
      if (e.code === 'webgpu-unavailable') console.error(NO_WEBGPU_HELP);
    } else {
      console.error('\nchat failed:', e);
    }
    process.exit(1);
  },
);
