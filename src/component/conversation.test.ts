import { describe, expect, it } from 'vitest';
import { Conversation } from './conversation';

describe('Conversation', () => {
  it('sends every turn in order, images before text, and no system message', () => {
    const c = new Conversation();
    const a = new Blob(['a']);
    const b = new Blob(['b']);
    c.addUser('これは何?', [a, b]);
    c.startAssistant().text = '猫です。';
    c.addUser('色は?', []);
    expect(c.toMessages()).toEqual([
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

  it('leaves out empty answers', () => {
    const c = new Conversation();
    c.addUser('hi', []);
    c.startAssistant();
    expect(c.toMessages()).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('rewinds to the last user turn for a retry, clears', () => {
    const c = new Conversation();
    expect(c.rewindToLastUser()).toBe(false);
    expect(c.lastUser()).toBeNull();
    c.addUser('one', []);
    c.startAssistant().text = 'x';
    const two = c.addUser('two', []);
    c.startAssistant().text = 'y';
    expect(c.lastUser()).toBe(two);
    expect(c.rewindToLastUser()).toBe(true);
    expect(c.turns.map((t) => t.role)).toEqual(['user', 'assistant', 'user']);
    c.clear();
    expect(c.turns).toHaveLength(0);
  });

  it('a failed turn is taken back whole: the next request is the history before it plus the new message', () => {
    const c = new Conversation();
    const first = new Blob(['first']);
    c.addUser('一枚目', [first]);
    c.startAssistant().text = '犬です。';
    const before = c.toMessages();
    const failed = c.addUser('長すぎる質問', [new Blob(['p']), new Blob(['q'])]);
    c.startAssistant().text = 'partial';
    const back = c.takeBack(failed);
    expect(back?.text).toBe('長すぎる質問');
    expect(back?.images).toEqual(failed.images);
    expect(c.toMessages()).toEqual(before);
    c.addUser('短い質問', []);
    expect(c.toMessages()).toEqual([...before, { role: 'user', content: [{ type: 'text', text: '短い質問' }] }]);
    // Taken back once: a second take-back (or one after clear) has nothing to return.
    expect(c.takeBack(failed)).toBeNull();
  });

  it('leaves out the image the engine could not decode, counting request images over every user turn', () => {
    const c = new Conversation();
    c.addUser('a', [new Blob(['0']), new Blob(['1'])]);
    c.startAssistant().text = 'ok';
    c.addUser('text only', []);
    c.startAssistant().text = 'ok';
    const good = new Blob(['3']);
    const bad = new Blob(['not an image']);
    const failed = c.addUser('これは?', [good, bad]);
    // Request images: 0 and 1 (first turn), 2 = good, 3 = bad.
    expect(c.takeBack(failed, { badImageIndex: 3 })?.images).toEqual([good]);
    const again = c.addUser('これは?', [good, bad]);
    // An index outside the failed turn (an earlier turn's image) leaves its images as they were.
    expect(c.takeBack(again, { badImageIndex: 1 })?.images).toEqual([good, bad]);
    expect(c.turns).toHaveLength(4);
  });

  it('refuses an empty turn', () => {
    expect(() => new Conversation().addUser(' ', [])).toThrow(/text or an image/);
  });
});
