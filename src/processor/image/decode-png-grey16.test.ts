import { describe, expect, it } from 'vitest';
import { decodePng } from './decode-png';
import { decodeGrey16Png, isGrey16Png } from './decode-png-grey16';
import { fixtureBytes } from './fixture-files';

describe('decodeGrey16Png (the browser path for 16-bit grey PNGs)', () => {
  it('gives the same samples as pngjs for a 16-bit grey PNG', async () => {
    const bytes = fixtureBytes('inputs/camera-gray16.png');
    expect(isGrey16Png(bytes)).toBe(true);
    const ours = await decodeGrey16Png(bytes);
    const reference = decodePng(bytes, 0);
    expect(ours && [ours.width, ours.height, ours.channels, ours.bitDepth]).toEqual([reference.width, reference.height, 1, 16]);
    expect(ours?.data).toEqual(reference.data);
  });

  it('declines every other PNG kind', async () => {
    for (const name of ['astronaut.png', 'camera-gray.png', 'camera-la16.png', 'astronaut-rgb16.png']) {
      const bytes = fixtureBytes(`inputs/${name}`);
      expect(isGrey16Png(bytes), name).toBe(false);
      expect(await decodeGrey16Png(bytes)).toBeNull();
    }
  });
});
