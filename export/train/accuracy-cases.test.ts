import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSafetensorsHeader } from '../safetensors/safetensors-writer';
import { accuracyCases, NATURAL_WORDINGS_TRAINING, trainedOnNaturalWordings } from './accuracy-cases';

/** A one-tensor safetensors file with `metadata`, in a fresh folder. */
async function checkpointWith(metadata: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'accuracy-cases-'));
  const header = encodeSafetensorsHeader([{ name: 'w', dtype: 'F32', shape: [2] }], metadata);
  await writeFile(join(dir, 'model.safetensors'), Buffer.concat([header, new Uint8Array(8)]));
  return dir;
}

describe('accuracy cases', () => {
  it('ask held-out cases only of weights trained with natural wordings that met the held-out bar in training', async () => {
    const met = await checkpointWith({ format: 'pt', trainingData: NATURAL_WORDINGS_TRAINING, heldoutMinKindAccuracy: '0.931' });
    const missed = await checkpointWith({ format: 'pt', trainingData: NATURAL_WORDINGS_TRAINING, heldoutMinKindAccuracy: '0.772' });
    const unmeasured = await checkpointWith({ format: 'pt', trainingData: NATURAL_WORDINGS_TRAINING });
    const plain = await checkpointWith({ format: 'pt' });
    try {
      expect(await trainedOnNaturalWordings(met)).toBe(true);
      expect(await trainedOnNaturalWordings(missed)).toBe(false);
      expect(await trainedOnNaturalWordings(unmeasured)).toBe(false);
      expect(await trainedOnNaturalWordings(plain)).toBe(false);
    } finally {
      for (const dir of [met, missed, unmeasured, plain]) await rm(dir, { recursive: true });
    }
  });

  it('held-out cases are varied pictures in held-out wordings, every kind in ten pictures', () => {
    const cases = accuracyCases({ pictures: 10, turnsPerPicture: 1, maxPicturePixels: 180 * 180, split: 'heldout-test' });
    expect(new Set(cases.flatMap((c) => c.turns.map((q) => q.kind)))).toEqual(new Set(['colour', 'count', 'position', 'shape', 'describe']));
    expect(new Set(cases.flatMap((c) => c.turns.map((q) => q.language)))).toEqual(new Set(['ja', 'en']));
  });
});
