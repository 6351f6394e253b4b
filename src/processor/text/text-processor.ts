/**
 * The processor's text path in one object: chat messages + image token counts → decoder input ids, and
 * generated ids → streamed text. Built from the package's tokenizer.json, tokenizer_config.json and
 * chat_template.json (fallbacks: tokenizer_config.json's chat_template, then Sarashina's template).
 */
import type { SpecialTokens } from '../../protocol/model-spec';
import { SarashinaError } from '../../protocol/errors';
import type { ChatMessage } from './chat-messages';
import { renderChatPrompt } from './chat-prompt';
import { checkContextBudget } from './context-budget';
import { expandImagePlaceholders, type ImageTokenSpan } from './image-placeholders';
import { OutputTextStream, type OutputTextStreamOptions } from './output-text-stream';
import { SARASHINA_CHAT_TEMPLATE } from './sarashina-chat-template';
import { TextTokenizer } from './text-tokenizer';
import { resolveChatTemplate } from './tokenizer-config';

export interface TextProcessorFiles {
  readonly tokenizerJson: unknown;
  readonly tokenizerConfig: unknown;
  /**
   * Parsed chat_template.json (`{chat_template}`) or a template string; when undefined, tokenizer_config.json's
   * `chat_template`, else Sarashina's template.
   */
  readonly chatTemplate?: unknown;
  /** Ids from the model spec; when given they are cross-checked against the tokenizer. */
  readonly specialTokens?: SpecialTokens;
}

export interface PromptRequest {
  readonly messages: readonly ChatMessage[];
  /** Image tokens per image (grid_h·grid_w/4), in the order the image parts appear. */
  readonly imageTokenCounts: readonly number[];
  readonly maxNewTokens: number;
  /** Positions available for prompt + generation. */
  readonly contextTokens: number;
}

export interface PromptInputs {
  readonly inputIds: Int32Array;
  readonly imageSpans: readonly ImageTokenSpan[];
  /** The rendered prompt text before image expansion (for logs and `--dump`). */
  readonly text: string;
  readonly systemMessageIgnored: boolean;
}

const IMAGE_TOKEN = '<|file|>';
const IMAGE_START = '<|prefix|>';
const IMAGE_END = '<|suffix|>';

/**
 * The template: the package's chat_template.json (or a template string), else tokenizer_config.json's
 * `chat_template` (tokenizer-config.ts), else Sarashina's own.
 */
function templateSource(chatTemplate: unknown, tokenizerConfig: unknown): string {
  if (typeof chatTemplate === 'string') return chatTemplate;
  const resolved = resolveChatTemplate({
    ...(chatTemplate === undefined || chatTemplate === null ? {} : { chatTemplateJson: chatTemplate }),
    tokenizerConfig,
  });
  return resolved?.template ?? SARASHINA_CHAT_TEMPLATE;
}

export class TextProcessor {
  readonly tokenizer: TextTokenizer;
  readonly imageTokenId: number;
  private readonly template: string;

  private constructor(tokenizer: TextTokenizer, template: string, imageTokenId: number) {
    this.tokenizer = tokenizer;
    this.template = template;
    this.imageTokenId = imageTokenId;
  }

  /**
   * Throws `SarashinaError('invalid-model')` for unusable files, a tokenizer without `<|file|>`, or ids that
   * disagree with `specialTokens` (config.json and tokenizer.json from different models give fluent nonsense).
   */
  static fromFiles(files: TextProcessorFiles): TextProcessor {
    const tokenizer = TextTokenizer.fromFiles(files);
    const lookup = (token: string): number => {
      const id = tokenizer.tokenToId(token);
      if (id === undefined) {
        throw new SarashinaError('invalid-model', `tokenizer.json has no token ${token}: use the model's own tokenizer.`, {
          field: 'added_tokens',
          actual: token,
        });
      }
      return id;
    };
    const imageTokenId = lookup(IMAGE_TOKEN);
    const spec = files.specialTokens;
    if (spec !== undefined) {
      const pairs: [string, number, number | null][] = [
        ['image (<|file|>)', spec.image, imageTokenId],
        ['imageStart (<|prefix|>)', spec.imageStart, lookup(IMAGE_START)],
        ['imageEnd (<|suffix|>)', spec.imageEnd, lookup(IMAGE_END)],
        ['bos', spec.bos, tokenizer.bosId],
        ['eos', spec.eos, tokenizer.eosId],
      ];
      for (const [name, expected, actual] of pairs) {
        if (expected !== actual) {
          throw new SarashinaError(
            'invalid-model',
            `config.json says token ${name} is id ${expected} but the tokenizer has ${String(actual)}: the ` +
              `config and tokenizer come from different models; re-export the package.`,
            { field: name, expected, actual },
          );
        }
      }
    }
    const template = templateSource(files.chatTemplate, files.tokenizerConfig);
    for (const key of ['bos_token', 'eos_token']) {
      // transformers renders an undefined role token as an error; say which file lacks it before any request.
      if (template.includes(key) && tokenizer.templateTokens[key] === undefined) {
        throw new SarashinaError(
          'invalid-model',
          `the chat template uses ${key} but neither tokenizer_config.json nor special_tokens_map.json names one: ` +
            `copy the checkpoint's tokenizer_config.json into the package (re-export).`,
          { file: 'tokenizer_config.json', field: key },
        );
      }
    }
    return new TextProcessor(tokenizer, template, imageTokenId);
  }

  /**
   * Renders, tokenizes and expands a chat request, then checks the context budget. Throws
   * `SarashinaError('invalid-request')` for malformed messages or an image-count mismatch and
   * `SarashinaError('context-overflow')` when prompt + maxNewTokens does not fit `contextTokens`.
   */
  buildPrompt(request: PromptRequest): PromptInputs {
    const prompt = this.encodePrompt(request);
    checkContextBudget({
      promptTokens: prompt.inputIds.length,
      maxNewTokens: request.maxNewTokens,
      contextTokens: request.contextTokens,
      imageTokens: request.imageTokenCounts.reduce((a, b) => a + b, 0),
    });
    return prompt;
  }

  /**
   * As buildPrompt without the context check: what the request becomes, however long (the context fitter
   * measures candidate requests with it). Same `invalid-request` errors as buildPrompt.
   */
  encodePrompt(request: Pick<PromptRequest, 'messages' | 'imageTokenCounts'>): PromptInputs {
    const prompt = renderChatPrompt(request.messages, {
      template: this.template,
      templateTokens: this.tokenizer.templateTokens,
      imageBlock: IMAGE_START + IMAGE_TOKEN + IMAGE_END,
      imageToken: IMAGE_TOKEN,
      reservedStrings: [IMAGE_START, IMAGE_END],
    });
    if (prompt.imageCount !== request.imageTokenCounts.length) {
      throw new SarashinaError(
        'invalid-request',
        `the messages have ${prompt.imageCount} image part(s) but ${request.imageTokenCounts.length} image ` +
          `token count(s) were given: pass one count per image part.`,
        { field: 'imageTokenCounts', expected: prompt.imageCount, actual: request.imageTokenCounts.length },
      );
    }
    const ids = this.tokenizer.encodePrompt(prompt.text);
    const expanded = expandImagePlaceholders(ids, {
      imageTokenId: this.imageTokenId,
      tokenCounts: request.imageTokenCounts,
    });
    return { ...expanded, text: prompt.text, systemMessageIgnored: prompt.systemMessageIgnored };
  }

  /** A fresh stream turning generated ids into visible text, with `\n###` and EOS as stops by default. */
  createOutputStream(options: OutputTextStreamOptions = {}): OutputTextStream {
    return new OutputTextStream(this.tokenizer, options);
  }
}
