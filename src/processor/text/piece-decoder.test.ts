import { describe, expect, it } from 'vitest';
import { PieceDecoder, byteOfPiece, parsePieceDecoderPlan } from './piece-decoder';

const SARASHINA_DECODER = {
  type: 'Sequence',
  decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }],
};
// The form Llama-style converters write when the SentencePiece model adds a dummy prefix.
const LLAMA_DECODER = {
  type: 'Sequence',
  decoders: [...SARASHINA_DECODER.decoders, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
};

const bytePieces = (text: string): string[] =>
  [...new TextEncoder().encode(text)].map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

function decodeAll(decoder: unknown, pieces: readonly string[]): { text: string; deltas: string[] } {
  const d = new PieceDecoder(parsePieceDecoderPlan(decoder));
  const deltas = pieces.map((p) => d.push(p));
  deltas.push(d.finish());
  return { text: deltas.join(''), deltas };
}

describe('PieceDecoder', () => {
  it('maps ▁ to spaces and keeps leading spaces when no Strip step is configured', () => {
    expect(decodeAll(SARASHINA_DECODER, ['▁Hello', '▁▁', 'world']).text).toBe(' Hello  world');
  });

  it('strips only the first leading space of the whole text with a Strip(start 1) step', () => {
    expect(decodeAll(LLAMA_DECODER, ['▁Hello', '▁world']).text).toBe('Hello world');
    expect(decodeAll(LLAMA_DECODER, ['▁', '▁a']).text).toBe(' a');
    expect(decodeAll(LLAMA_DECODER, ['', '▁a']).text).toBe('a');
  });

  it('holds byte runs until they end and decodes them as UTF-8, never emitting half a character', () => {
    const pieces = ['▁x', ...bytePieces('🦄あ'), '▁y'];
    const { text, deltas } = decodeAll(SARASHINA_DECODER, pieces);
    expect(text).toBe(' x🦄あ y');
    for (const delta of deltas) expect(delta).toBe(new TextDecoder().decode(new TextEncoder().encode(delta)));
    expect(decodeAll(SARASHINA_DECODER, bytePieces('\uFEFFA')).text).toBe('\uFEFFA');
  });

  it('turns every byte of an invalid run into U+FFFD, as the Rust ByteFallback decoder does', () => {
    const valid = bytePieces('あ');
    expect(decodeAll(SARASHINA_DECODER, [...valid, '<0xFF>']).text).toBe('\uFFFD'.repeat(4));
    expect(decodeAll(SARASHINA_DECODER, valid.slice(0, 2)).text).toBe('\uFFFD\uFFFD');
    expect(decodeAll(SARASHINA_DECODER, [...valid.slice(0, 2), '▁', ...valid.slice(2)]).text).toBe('\uFFFD\uFFFD \uFFFD');
  });

  it('recognizes byte pieces exactly', () => {
    expect(byteOfPiece('<0x0A>')).toBe(10);
    expect(byteOfPiece('<0xff>')).toBe(255);
    for (const piece of ['<0x0A', '<0xZZ>', '0x0A>', '<0x0AA>', 'あ']) expect(byteOfPiece(piece)).toBeNull();
  });

  it('rejects decoders it cannot reproduce exactly', () => {
    const unsupported = [
      null,
      { type: 'ByteLevel' },
      { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { Regex: '▁' }, content: ' ' }] },
      { type: 'Sequence', decoders: [{ type: 'Strip', content: ' ', start: 0, stop: 1 }] },
      { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' },
    ];
    for (const decoder of unsupported) {
      expect(() => parsePieceDecoderPlan(decoder), JSON.stringify(decoder)).toThrow(
        expect.objectContaining({ code: 'invalid-model' }),
      );
    }
    expect(decodeAll({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'never' }, ['▁a', '▁b']).text).toBe(' a b');
  });
});
