/**
 * `npm run chat -- --model <dir> [--image <file>]… --prompt "<text>" [--max-new-tokens N] [--temperature T] [--memory-budget-gib G] [--dump <file.json>]`
 * The same engine as the browser's, on WebGPU through Dawn (a real GPU, or SwiftShader on a CPU). Streams the
 * answer to stdout, stats to stderr. `--dump` writes the prompt ids, the full first-step logits and the
 * generated ids as JSON, to compare any build with the Hugging Face reference.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { createNodeEngine } from '../api/node-platform';
import type { ChatCompletionChunk, ContentPart } from '../protocol/api';
import { isSarashinaError } from '../protocol/errors';
import type { GenerationResult } from '../generate/generator';
import { CHAT_USAGE, parseChatArgs } from './chat-args';
import { truncationNote } from './truncation-note';

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif' };

const NO_WEBGPU_HELP =
  'WebGPU is needed. On a machine with a GPU: install its Vulkan driver (NVIDIA/AMD/Intel; `vulkaninfo` should list it). ' +
  'Without a GPU, SwiftShader (a CPU Vulkan driver, slow but exact) works: `apt-get install -y chromium libvulkan1` on Debian/Ubuntu.';

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseChatArgs(argv);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
  if (args.help) {
    console.log(CHAT_USAGE);
    return 0;
  }
  const parts: ContentPart[] = [];
  for (const path of args.images) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      console.error(`Cannot read --image ${path}: ${e instanceof Error ? e.message : String(e)}`);
      return 2;
    }
    parts.push({ type: 'image_url', image_url: { url: new Blob([new Uint8Array(bytes)], { type: IMAGE_TYPES[extname(path).toLowerCase()] ?? '' }) } });
  }
  parts.push({ type: 'text', text: args.prompt });

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const engine = await createNodeEngine({ model: args.model, signal: controller.signal, ...(args.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: args.memoryBudgetBytes }) });
  const info = engine.info;
  const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  console.error(
    `[${info.modelId}] ${info.precisionReason}; ${info.contextTokens} context tokens; ~${gib(info.memoryEstimate.totalBytes)} of GPU memory ` +
      `(budget ${gib(info.memoryBudgetBytes)}: ${info.memoryBudgetReason}); ${info.adapter}`,
  );
  let firstLogits: Float32Array | null = null;
  let result: GenerationResult | null = null;
  try {
    const stream = (await engine.create(
      {
        messages: [{ role: 'user', content: parts }],
        stream: true,
        temperature: args.temperature,
        signal: controller.signal,
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
      const text = chunk.choices[0].delta.content;
      if (text) process.stdout.write(text);
    }
    process.stdout.write('\n');
  } finally {
    await engine.dispose();
  }
  const done = result as GenerationResult | null;
  if (!done) return 1;
  const { usage, timings } = done;
  console.error(
    `[${done.finishReason}] ${usage.prompt_tokens} prompt tokens (${usage.prefilled_tokens} prefilled, ${usage.image_tokens} image), ` +
      `${usage.completion_tokens} generated; TTFT ${timings.timeToFirstTokenMs.toFixed(0)} ms, ${timings.decodeTokensPerSecond.toFixed(1)} tok/s`,
  );
  const note = truncationNote(usage.truncation);
  if (note) console.error(note);
  if (args.dump) {
    const logits = firstLogits as Float32Array | null;
    const dump = { inputIds: Array.from(done.inputIds), firstLogits: logits ? Array.from(logits) : [], generatedIds: [...done.generatedIds] };
    await writeFile(args.dump, JSON.stringify(dump));
    console.error(`Wrote ${args.dump}.`);
  }
  return 0;
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
