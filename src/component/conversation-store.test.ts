import { describe, expect, it } from 'vitest';
import { Conversation } from './conversation';
import { fitToCap, turnBytes } from './conversation-store';

function chat(): Conversation {
  const c = new Conversation();
  c.addUser('これは?', [new Blob([new Uint8Array(1000)])]); // 10 bytes of UTF-8 text + 1000
  Object.assign(c.startAssistant(), { text: '猫です', finishReason: 'stop' }); // 9
  c.addUser('色は?', []); // 7
  Object.assign(c.startAssistant(), { text: 'black', finishReason: 'length' }); // 5
  return c;
}

describe('fitToCap (what a saved conversation keeps)', () => {
  it('counts text as UTF-8 bytes plus the pictures', () => {
    expect(chat().turns.map(turnBytes)).toEqual([1010, 9, 7, 5]);
  });

  it('keeps every finished turn under the cap, and leaves out a streaming answer and an unanswered question', () => {
    const c = chat();
    expect(fitToCap(c.turns, 1031)).toEqual(c.turns);
    c.addUser('形は?', []);
    expect(fitToCap(c.turns, 1e9)).toEqual(c.turns.slice(0, 4));
    c.startAssistant().text = '丸';
    expect(fitToCap(c.turns, 1e9)).toEqual(c.turns.slice(0, 4));
  });

  it('drops whole exchanges from the oldest until the rest fits; one exchange over the cap is not kept', () => {
    const c = chat();
    expect(fitToCap(c.turns, 1030)).toEqual(c.turns.slice(2));
    expect(fitToCap(c.turns, 12)).toEqual(c.turns.slice(2));
    expect(fitToCap(c.turns, 11)).toEqual([]);
  });
});
