/**
 * `npm run export -- <hf-dir-or-url> --out <dir> [--precision fp32|q4f32|q4f16] [--max-shard-mb N] [--force]`
 * A thin wrapper over exportPackage (export/package/export-package.ts).
 */
import { parseArgs } from 'node:util';
import { isSarashinaError } from '../../src/protocol/errors';
import { PRECISIONS, type Precision } from '../../src/protocol/manifest';
import { formatBytes, formatExportProgress } from '../package/export-progress';
import { DEFAULT_MAX_SHARD_BYTES, exportPackage } from '../package/export-package';

const USAGE = 'Usage: npm run export -- <hf-dir-or-url> --out <dir> [--precision fp32|q4f32|q4f16] [--max-shard-mb N] [--force]';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      precision: { type: 'string', default: 'q4f32' },
      'max-shard-mb': { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [source, ...extra] = positionals;
  if (!source || !values.out || extra.length > 0) {
    console.error(`${!source ? 'Missing the checkpoint directory or URL.' : !values.out ? 'Missing --out <dir>.' : `Unexpected arguments: ${extra.join(' ')}.`}\n${USAGE}`);
    return 2;
  }
  if (!PRECISIONS.includes(values.precision as Precision)) {
    console.error(`--precision must be one of ${PRECISIONS.join(', ')}, got ${values.precision}.\n${USAGE}`);
    return 2;
  }
  const shardMb = values['max-shard-mb'] === undefined ? DEFAULT_MAX_SHARD_BYTES / 2 ** 20 : Number(values['max-shard-mb']);
  if (!(shardMb > 0 && shardMb <= 2048)) {
    console.error(`--max-shard-mb must be a number in (0, 2048], got ${values['max-shard-mb']}.`);
    return 2;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const result = await exportPackage(source, values.out, {
    precision: values.precision as Precision,
    maxShardBytes: Math.floor(shardMb * 2 ** 20),
    overwrite: values.force,
    signal: controller.signal,
    onProgress: (p) => {
      const now = Date.now();
      if (p.doneBytes < p.totalBytes && now - lastLine < 500) return;
      lastLine = now;
      const line = `export ${formatExportProgress(p)}`;
      if (tty) process.stderr.write(`\r${line.padEnd(100)}`);
      else process.stderr.write(`${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  const m = result.manifest;
  console.log(
    `Wrote ${result.outDir}: ${m.precision}, ${m.graphs.length} graphs, ${m.shards.length} shards, ${Object.keys(m.weights).length} weights, ${formatBytes(result.totalBytes)}.`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (isSarashinaError(e)) console.error(`\nexport failed [${e.code}]: ${e.message}`);
    else console.error('\nexport failed:', e);
    process.exit(1);
  },
);
