import { describe, expect, it } from 'vitest';
import { isSarashinaError } from '../../protocol/errors';
import { decodeImageBytes } from './decode-image-node';
import { fixtureBytes } from './fixture-files';
import { toRgb8 } from './to-rgb';

const input = (name: string) => decodeImageBytes(fixtureBytes(`inputs/${name}`), 0);

describe('decodeImageBytes (Node)', () => {
  it('keeps the layout and bit depth of each PNG kind', () => {
    const kinds = {
      'astronaut.png': [3, 8],
      'astronaut-rgba.png': [4, 8],
      'camera-gray.png': [1, 8],
      'camera-la.png': [2, 8],
      'coffee-palette.png': [3, 8],
      'coffee-palette-trns.png': [3, 8],
      'camera-bilevel.png': [1, 8],
      'camera-gray16.png': [1, 16],
      'astronaut-rgb16.png': [3, 16],
      'astronaut-rgba16.png': [4, 16],
      'camera-la16.png': [2, 16],
    } as const;
    for (const [name, [channels, bitDepth]] of Object.entries(kinds)) {
      const image = input(name);
      expect([image.channels, image.bitDepth], name).toEqual([channels, bitDepth]);
      expect(image.data.length).toBe(image.width * image.height * channels);
    }
    const bilevel = toRgb8(input('camera-bilevel.png')).data;
    expect(new Set(bilevel)).toEqual(new Set([0, 255]));
  });

  it('decodes JPEG close to Pillow (libjpeg-turbo), measured on a q90 4:2:0 photo', () => {
    const ours = toRgb8(input('chelsea.jpg'));
    const pillow = toRgb8(decodeImageBytes(fixtureBytes('expected/chelsea-jpg-pil-decoded.png'), 0));
    expect([ours.width, ours.height]).toEqual([pillow.width, pillow.height]);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < ours.data.length; i++) {
      const d = Math.abs((ours.data[i] ?? 0) - (pillow.data[i] ?? 0));
      sum += d;
      max = Math.max(max, d);
    }
    const mean = sum / ours.data.length;
    // Different IDCT rounding and chroma upsampling: measured mean 0.72 levels, max 14 (58 % of bytes differ).
    expect(mean).toBeLessThan(1);
    expect(max).toBeLessThanOrEqual(20);
  });

  it('throws invalid-request naming the image for unknown and broken data', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('GIF89a....'), /image 3: unsupported or unreadable format \(first bytes 47 49 46 38\)/],
      [fixtureBytes('inputs/tiny-12x30.png').subarray(0, 60), /image 3: the PNG could not be decoded/],
      [fixtureBytes('inputs/chelsea.jpg').subarray(0, 200), /image 3: the JPEG could not be decoded/],
      [new Uint8Array(0), /first bytes none/],
    ];
    for (const [bytes, pattern] of cases) {
      try {
        decodeImageBytes(bytes, 3);
        expect.unreachable();
      } catch (e) {
        expect(isSarashinaError(e, 'invalid-request')).toBe(true);
        expect((e as Error).message).toMatch(pattern);
      }
    }
  });
});
