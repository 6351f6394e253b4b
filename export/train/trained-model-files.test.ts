import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/processor/text/text-tokenizer';
import { datasetItem } from './shapes-dataset';
import { DOMAIN_PIECES, trainedModelFiles } from './trained-model-files';

function tokenizer(): TextTokenizer {
  const files = trainedModelFiles();
  return TextTokenizer.fromFiles({ tokenizerJson: JSON.parse(files['tokenizer.json']), tokenizerConfig: JSON.parse(files['tokenizer_config.json']) });
}

describe('trained model files', () => {
  it('are the committed checkpoint\'s files (the weights were trained against exactly these)', async () => {
    for (const [name, text] of Object.entries(trainedModelFiles())) {
      expect(await readFile(join('export/train/checkpoint', name), 'utf8'), name).toBe(text);
    }
  });

  it('keep the Sarashina special-token layout and the image token ids of config.json', () => {
    const files = trainedModelFiles();
    const config = JSON.parse(files['config.json']) as { start_image_token_index: number; end_image_token_index: number };
    const tok = tokenizer();
    expect(tok.pieceOf(14)).toBe('<|file|>');
    expect(tok.pieceOf(2)).toBe('</s>');
    expect(tok.pieceOf(config.start_image_token_index)).toBe('<|prefix|>');
    expect(tok.pieceOf(config.end_image_token_index)).toBe('<|suffix|>');
    expect(new Set(DOMAIN_PIECES.map((p) => tok.tokenToId(p))).size).toBe(new Set(DOMAIN_PIECES).size);
  });

  it('tokenize every question and answer without byte fallback, each answer in a few tokens', () => {
    const tok = tokenizer();
    const byteIds = new Set(Array.from({ length: 256 }, (_, b) => 15 + b));
    let longest = 0;
    for (let i = 0; i < 40; i++) {
      for (const qa of datasetItem('eval', i).questions) {
        const answerIds = tok.encode(` ${qa.answer}`, { addSpecialTokens: false });
        const questionIds = tok.encode(qa.question, { addSpecialTokens: false });
        expect([...answerIds, ...questionIds].filter((id) => byteIds.has(id))).toEqual([]);
        expect(tok.decode(answerIds).trim()).toBe(qa.answer);
        if (qa.kind !== 'describe') longest = Math.max(longest, answerIds.length);
      }
    }
    expect(longest).toBeLessThanOrEqual(8);
  });
});
