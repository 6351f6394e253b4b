/**
 * `npm run random-package -- --preset tiny|odd|8b|14b --out DIR [--precision fp32|q4f32|q4f16] [--seed N]
 *  [--max-pixels N] [--max-shard-mb N] [--max-weight-part-mb N] [--force]`
 * A model package with random weights written directly (export/random/random-package.ts), for
 * benchmarks. Also runs bundled with plain Node: `node bench/gpu/bundle.mjs export/cli/random-package.ts`.
 */
import { parseArgs } from 'node:util';
import { isSarashinaError } from '../../src/protocol/errors';
import type { Precision } from '../../src/protocol/manifest';
import { formatBytes } from '../../src/convert/package/export-progress';
import { stderrProgress } from './stderr-progress';
import { DEFAULT_MAX_SHARD_BYTES } from '../../src/convert/package/package-writer';
import { writeRandomPackage } from '../random/random-package';
import type { RandomPreset } from '../random/random-presets';

const USAGE = 'Usage: npm run random-package -- --preset tiny|odd|8b|14b --out <dir> [--precision fp32|q4f32|q4f16] [--seed N] [--max-pixels N] [--max-shard-mb N] [--max-weight-part-mb N] [--force]';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      preset: { type: 'string' },
      out: { type: 'string' },
      precision: { type: 'string', default: 'q4f32' },
      seed: { type: 'string', default: '0' },
      'max-pixels': { type: 'string' },
      'max-shard-mb': { type: 'string' },
      'max-weight-part-mb': { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const fail = (message: string): number => {
    console.error(`${message}\n${USAGE}`);
    return 2;
  };
  if (positionals.length > 0) return fail(`Unexpected arguments: ${positionals.join(' ')}.`);
  if (!values.preset) return fail('Missing --preset tiny|odd|8b|14b.');
  if (!values.out) return fail('Missing --out <dir>.');
  // Preset, precision, seed and max_pixels are checked by writeRandomPackage (precise SarashinaErrors).
  const seed = Number(values.seed);
  const maxPixels = values['max-pixels'] === undefined ? undefined : Number(values['max-pixels']);
  const shardMb = values['max-shard-mb'] === undefined ? DEFAULT_MAX_SHARD_BYTES / 2 ** 20 : Number(values['max-shard-mb']);
  if (!(shardMb > 0 && shardMb <= 2048)) return fail(`--max-shard-mb must be a number in (0, 2048], got ${values['max-shard-mb']}.`);
  // Row parts of the decoder linears and the embedding table (default 128 MiB, src/convert/package/package-writer.ts).
  const partMb = values['max-weight-part-mb'] === undefined ? undefined : Number(values['max-weight-part-mb']);
  if (partMb !== undefined && !(partMb > 0 && partMb <= 2048)) return fail(`--max-weight-part-mb must be a number in (0, 2048], got ${values['max-weight-part-mb']}.`);

  const started = performance.now();
  const progress = stderrProgress('random-package');
  const result = await writeRandomPackage(values.out, {
    preset: values.preset as RandomPreset,
    precision: values.precision as Precision,
    seed,
    maxShardBytes: Math.floor(shardMb * 2 ** 20),
    ...(partMb === undefined ? {} : { maxWeightPartBytes: Math.floor(partMb * 2 ** 20) }),
    ...(maxPixels === undefined ? {} : { maxPixels }),
    overwrite: values.force,
    onProgress: progress.onProgress,
  });
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  const m = result.manifest;
  console.log(
    `Wrote ${result.outDir}: ${values.preset} ${m.precision} seed ${seed}, max_pixels ${m.imageProcessor.maxPixels}, ${m.graphs.length} graphs, ${m.shards.length} shards, ${Object.keys(m.weights).length} weights, ` +
      `${formatBytes(result.totalBytes)} (${result.totalBytes} bytes) in ${seconds.toFixed(1)} s (${formatBytes(result.totalBytes / Math.max(seconds, 1e-3))}/s).`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (isSarashinaError(e)) console.error(`\nrandom-package failed [${e.code}]: ${e.message}`);
    else console.error('\nrandom-package failed:', e);
    process.exit(1);
  },
);
