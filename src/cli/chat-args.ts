/** The chat CLI's arguments: parsed and checked, with the usage line for errors. */
import { parseArgs } from 'node:util';

export const CHAT_USAGE =
  'Usage: npm run chat -- --model <dir> ([--image <file>]… --prompt "<text>" | --questions <file.jsonl>) [--system "<text>"] [--max-new-tokens N] [--temperature T] [--memory-budget-gib G] [--dump <file.json>]';

export interface ChatArgs {
  readonly model: string;
  readonly images: readonly string[];
  readonly prompt: string;
  /** A JSON-lines file of independent questions, each {"prompt": "…", "images"?: ["file", …]}, asked with one engine. */
  readonly questions?: string;
  /**
   * A system message sent before every question. Sarashina's chat template renders none (the answer's stderr says
   * so); a model whose template does gets it.
   */
  readonly system?: string;
  readonly maxNewTokens?: number;
  readonly temperature: number;
  /** EngineOptions.memoryBudgetBytes (the GPU memory the engine may plan for). */
  readonly memoryBudgetBytes?: number;
  readonly dump?: string;
  readonly help: boolean;
}

/** Parses argv (after `--`). Throws an Error whose message names the bad argument and ends with the usage line. */
export function parseChatArgs(argv: readonly string[]): ChatArgs {
  const fail = (message: string): never => {
    throw new Error(`${message}\n${CHAT_USAGE}`);
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        model: { type: 'string' },
        image: { type: 'string', multiple: true },
        prompt: { type: 'string' },
        questions: { type: 'string' },
        system: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'memory-budget-gib': { type: 'string' },
        dump: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return { model: '', images: [], prompt: '', temperature: 0, help: true };
  if (!values.model) fail('Missing --model <dir> (the folder holding manifest.json or variants.json).');
  if (values.questions !== undefined) {
    if (values.prompt !== undefined || values.image !== undefined) fail('--questions takes its prompts and images from the file: drop --prompt and --image.');
    if (values.dump !== undefined) fail('--dump records one request: use it with --prompt, not --questions.');
  } else if (values.prompt === undefined) fail('Missing --prompt "<text>" (or --questions <file.jsonl>).');
  let maxNewTokens: number | undefined;
  if (values['max-new-tokens'] !== undefined) {
    maxNewTokens = Number(values['max-new-tokens']);
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) fail(`--max-new-tokens must be a positive integer, got ${values['max-new-tokens']}.`);
  }
  const temperature = values.temperature === undefined ? 0 : Number(values.temperature);
  if (!Number.isFinite(temperature) || temperature < 0) fail(`--temperature must be a number ≥ 0 (0 = greedy), got ${values.temperature}.`);
  let memoryBudgetBytes: number | undefined;
  if (values['memory-budget-gib'] !== undefined) {
    const gib = Number(values['memory-budget-gib']);
    if (!(gib > 0 && Number.isFinite(gib))) fail(`--memory-budget-gib must be a number > 0, got ${values['memory-budget-gib']}.`);
    memoryBudgetBytes = Math.floor(gib * 2 ** 30);
  }
  return {
    model: values.model ?? '',
    images: values.image ?? [],
    prompt: values.prompt ?? '',
    ...(values.questions === undefined ? {} : { questions: values.questions }),
    ...(values.system === undefined ? {} : { system: values.system }),
    ...(maxNewTokens === undefined ? {} : { maxNewTokens }),
    temperature,
    ...(memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes }),
    ...(values.dump === undefined ? {} : { dump: values.dump }),
    help: false,
  };
}
