import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/processor/text/text-tokenizer';
import { datasetItem } from './shapes-dataset';
import { phrasedQuestions, sceneQuestions } from './shapes-questions';
import { makeScene, makeVariedScene } from './shapes-scene';
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
    // The original wordings (eval split) and both sets of natural wordings, on varied scenes (questions only).
    const questions = [
      ...Array.from({ length: 40 }, (_, i) => datasetItem('eval', i).questions).flat(),
      ...Array.from({ length: 200 }, (_, i) => phrasedQuestions(makeVariedScene(1_000_000 + i), 1_000_000 + i, i % 2 === 0 ? 'train' : 'heldout')).flat(),
    ];
    for (const qa of questions) {
        const answerIds = tok.encode(` ${qa.answer}`, { addSpecialTokens: false });
        const questionIds = tok.encode(qa.question, { addSpecialTokens: false });
        expect([...answerIds, ...questionIds].filter((id) => byteIds.has(id))).toEqual([]);
        expect(tok.decode(answerIds).trim()).toBe(qa.answer);
        if (qa.kind !== 'describe') longest = Math.max(longest, answerIds.length);
    }
    expect(longest).toBeLessThanOrEqual(8);
  });

  it('held-out wordings use only tokens that training wordings use (they test new wordings, not untrained embeddings)', () => {
    const tok = tokenizer();
    const ids = (text: string): number[] => tok.encode(text, { addSpecialTokens: false });
    const trained = new Set<number>();
    // Questions only (no pictures drawn): the training split's mix of original and natural wordings.
    for (let i = 0; i < 1500; i++) {
      const seed = 1_000_000 + i;
      const scene = i % 2 === 0 ? makeVariedScene(seed) : makeScene(seed);
      for (const qa of [...phrasedQuestions(scene, seed, 'train'), ...sceneQuestions(scene, seed)]) for (const id of ids(qa.question)) trained.add(id);
    }
    const unseen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const seed = 4_000_000 + i;
      for (const qa of phrasedQuestions(makeVariedScene(seed), seed, 'heldout')) {
        for (const id of ids(qa.question)) if (!trained.has(id)) unseen.add(`${tok.pieceOf(id)} in ${qa.question}`);
      }
    }
    expect([...unseen]).toEqual([]);
  });
});
