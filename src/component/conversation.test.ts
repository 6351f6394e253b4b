import { describe, expect, it } from 'vitest';
import { Conversation } from './conversation';

describe('Conversation', () => {
  it('sends the system prompt, every turn in order, images before text', () => {
    const c = new Conversation();
    const a = new Blob(['a']);
    const b = new Blob(['b']);
    c.addUser('これは何?', [a, b]);
    c.startAssistant().text = '猫です。';
    c.addUser('色は?', []);
    expect(c.toMessages('あなたは親切です。')).toEqual([
      { role: 'system', content: 'あなたは親切です。' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: a } },
          { type: 'image_url', image_url: { url: b } },
          { type: 'text', text: 'これは何?' },
        ],
      },
      { role: 'assistant', content: '猫です。' },
      { role: 'user', content: [{ type: 'text', text: '色は?' }] },
    ]);
  });

  it('leaves out a blank system prompt and empty answers', () => {
    const c = new Conversation();
    c.addUser('hi', []);
    c.startAssistant();
    expect(c.toMessages('  ')).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('rewinds to the last user turn for a retry, drops a failed answer, clears', () => {
    const c = new Conversation();
    expect(c.rewindToLastUser()).toBe(false);
    c.addUser('one', []);
    c.startAssistant().text = 'x';
    c.addUser('two', []);
    const answer = c.startAssistant();
    answer.text = 'y';
    expect(c.rewindToLastUser()).toBe(true);
    expect(c.turns.map((t) => t.role)).toEqual(['user', 'assistant', 'user']);
    const failed = c.startAssistant();
    c.dropIfLast(failed);
    expect(c.turns).toHaveLength(3);
    c.clear();
    expect(c.turns).toHaveLength(0);
  });

  it('refuses an empty turn', () => {
    expect(() => new Conversation().addUser(' ', [])).toThrow(/text or an image/);
  });
});
