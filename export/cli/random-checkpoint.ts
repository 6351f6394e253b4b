/**
 * `npm run random-checkpoint -- --preset tiny|odd|8b|14b --seed N [--text-layers N] [--vision-depth N] --out DIR`
 * Writes a random Sarashina2-Vision checkpoint in the Hugging Face layout (export/random/).
 */

import { parseArgs } from 'node:util';
import { isSarashinaError } from '../../src/protocol/errors';
import { writeRandomCheckpoint } from '../random/random-checkpoint';
import { isRandomPreset } from '../random/random-presets';

const USAGE = 'usage: npm run random-checkpoint -- --preset tiny|odd|8b|14b [--seed 0] [--text-layers N] [--vision-depth N] --out DIR';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { preset: { type: 'string' }, seed: { type: 'string', default: '0' }, out: { type: 'string' }, 'text-layers': { type: 'string' }, 'vision-depth': { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const preset = values.preset;
  const seed = Number(values.seed);
  if (!isRandomPreset(preset) || !values.out || !Number.isInteger(seed)) {
    console.error(`${USAGE}\n(got preset ${JSON.stringify(preset)}, seed ${JSON.stringify(values.seed)}, out ${JSON.stringify(values.out)})`);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  // Fewer layers at full width (bench/gpu/fidelity.sh); writeRandomCheckpoint checks the counts.
  const depth = {
    ...(values['text-layers'] === undefined ? {} : { textLayers: Number(values['text-layers']) }),
    ...(values['vision-depth'] === undefined ? {} : { visionDepth: Number(values['vision-depth']) }),
  };
  const result = await writeRandomCheckpoint(values.out, {
    preset,
    seed,
    depth,
    onProgress: ({ file, writtenBytes, totalBytes }) => {
      const seconds = (performance.now() - started) / 1000;
      const rate = writtenBytes / Math.max(seconds, 1e-3);
      const eta = (totalBytes - writtenBytes) / rate;
      console.log(`${file}: ${(writtenBytes / 1e9).toFixed(2)} / ${(totalBytes / 1e9).toFixed(2)} GB, ${(rate / 1e6).toFixed(0)} MB/s, ETA ${eta.toFixed(0)} s`);
    },
  });
  console.log(`wrote ${result.files.length} files (${(result.weightBytes / 1e9).toFixed(3)} GB of weights) to ${values.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e: unknown) => {
  console.error(isSarashinaError(e) ? `${e.code}: ${e.message}` : e);
  process.exitCode = 1;
});
