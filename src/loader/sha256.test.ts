import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256Hex } from './sha256';

describe('Sha256', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    const enc = new TextEncoder();
    expect(sha256Hex(enc.encode(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(enc.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('gives the same digest as node:crypto for any chunking', () => {
    const data = new Uint8Array(10_000).map((_, i) => (i * 131 + (i >> 7)) & 255);
    const want = createHash('sha256').update(data).digest('hex');
    for (const chunk of [1, 7, 63, 64, 65, 1000, 10_000]) {
      const h = new Sha256();
      for (let i = 0; i < data.length; i += chunk) h.update(data.subarray(i, i + chunk));
      expect(h.digestHex()).toBe(want);
    }
  });

  it('continues from an exported state as if never interrupted, at any cut (mid-block included)', () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 131 + 7) & 0xff);
    const expected = createHash('sha256').update(data).digest('hex');
    for (const cut of [0, 1, 63, 64, 65, 500, 999, 1000]) {
      const first = new Sha256().update(data.subarray(0, cut));
      const resumed = Sha256.fromState(first.exportState()).update(data.subarray(cut));
      expect(resumed.digestHex(), `cut at ${cut}`).toBe(expected);
    }
    expect(() => Sha256.fromState('not a state')).toThrow(TypeError);
    // A tail whose length disagrees with the byte count is refused, not misread.
    expect(() => Sha256.fromState(`${'0'.repeat(64)}:ab:64`)).toThrow(TypeError);
  });
});
