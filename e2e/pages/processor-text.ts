// Runs the Hugging Face text-path fixtures in the browser: tokenizer, chat template + <|file|> expansion,
// (streaming) detokenizer. Returns the cases that differ.
import type { ChatMessage } from '../../src/processor/text/chat-messages';
import { StreamingDetokenizer } from '../../src/processor/text/streaming-detokenizer';
import { TextProcessor } from '../../src/processor/text/text-processor';

const FIXTURES = '/export/reference/fixtures/processor-text/';

interface Expected {
  encode: { text: string; ids: number[] }[];
  chat: { name: string; messages: ChatMessage[]; imageTokenCounts: number[]; text: string; ids: number[] }[];
  decode: { name: string; ids: number[]; skipSpecial: string; keepSpecial: string }[];
}

export interface TextParityResult {
  checked: number;
  mismatches: string[];
}

declare global {
  interface Window {
    runTextCases: (folder: string) => Promise<TextParityResult>;
  }
}

const json = async (path: string): Promise<unknown> => (await fetch(`${FIXTURES}${path}`)).json();

window.runTextCases = async (folder) => {
  const expected = (await json(`expected-${folder}.json`)) as Expected;
  const processor = TextProcessor.fromFiles({
    tokenizerJson: await json(`${folder}/tokenizer.json`),
    tokenizerConfig: await json(`${folder}/tokenizer_config.json`),
    chatTemplate: await json(`${folder}/chat_template.json`),
  });
  const tok = processor.tokenizer;
  const mismatches: string[] = [];
  let checked = 0;
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  for (const c of expected.encode) {
    checked++;
    if (!same(tok.encode(c.text), c.ids)) mismatches.push(`encode ${JSON.stringify(c.text)}`);
  }
  for (const c of expected.chat) {
    checked++;
    const p = processor.buildPrompt({ messages: c.messages, imageTokenCounts: c.imageTokenCounts, maxNewTokens: 1, contextTokens: 1 << 20 });
    if (p.text !== c.text || !same(Array.from(p.inputIds), c.ids)) mismatches.push(`chat ${c.name}`);
  }
  for (const c of expected.decode) {
    checked++;
    const stream = new StreamingDetokenizer(tok, { skipSpecialTokens: true });
    const streamed = c.ids.map((id) => stream.push(id)).join('') + stream.finish();
    if (tok.decode(c.ids, { skipSpecialTokens: true }) !== c.skipSpecial || streamed !== c.skipSpecial) mismatches.push(`decode ${c.name}`);
    if (tok.decode(c.ids, { skipSpecialTokens: false }) !== c.keepSpecial) mismatches.push(`decode(keep) ${c.name}`);
  }
  return { checked, mismatches };
};
