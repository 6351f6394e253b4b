/**
 * `npm run export -- <hf-dir-or-url-or-hub-id> --out <dir> [--precision P[,P…]] [--max-shard-mb N] [--max-weight-part-mb N] [--image-pipeline qwen2-vl|sarashina2.2]
 *  [--revision R] [--hub-endpoint URL] [--force]` (a Hub token from $HF_TOKEN), P one of
 * fp32, q4f32, q4f16. One precision writes one package into <dir> (exportPackage, export/package/export-package.ts);
 * several write <dir>/<P>/ per precision and <dir>/variants.json (exportVariants, export/package/export-variants.ts).
 */
import { parseArgs } from 'node:util';
import { isSarashinaError } from '../../src/protocol/errors';
import { PRECISIONS, type Precision } from '../../src/protocol/manifest';
import { IMAGE_PIPELINES, type ImagePipeline } from '../../src/protocol/model-spec';
import { type ExportProgress, formatBytes, formatExportProgress } from '../../src/convert/package/export-progress';
import { DEFAULT_MAX_SHARD_BYTES, exportPackage } from '../package/export-package';
import { exportVariants } from '../package/export-variants';

const USAGE =
  'Usage: npm run export -- <hf-dir-or-url> --out <dir> [--precision fp32|q4f32|q4f16[,…]] [--max-shard-mb N] [--max-weight-part-mb N]\n' +
  '  [--image-pipeline qwen2-vl|sarashina2.2] [--revision R] [--hub-endpoint URL] [--force]\n' +
  '  the source: a checkpoint folder, an http(s) folder, or a Hugging Face Hub id (org/name[@revision]) or URL;\n' +
  '  a private or gated Hub repository needs a token in $HF_TOKEN\n' +
  '  several precisions (e.g. --precision q4f16,q4f32) write <dir>/<precision>/ each and <dir>/variants.json\n' +
  '  --max-weight-part-mb: larger decoder linears and embedding tables are stored as row parts of at most this size\n' +
  '  (default 128, the storage binding every WebGPU adapter grants)\n' +
  '  --image-pipeline: only when preprocessor_config.json does not tell (the exporter says so)';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      precision: { type: 'string', default: 'q4f32' },
      'max-shard-mb': { type: 'string' },
      'max-weight-part-mb': { type: 'string' },
      'image-pipeline': { type: 'string' },
      revision: { type: 'string' },
      'hub-endpoint': { type: 'string' },
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
  const precisions = values.precision.split(',').map((p) => p.trim());
  const bad = precisions.filter((p) => !PRECISIONS.includes(p as Precision));
  if (bad.length > 0 || precisions.length === 0 || new Set(precisions).size !== precisions.length) {
    console.error(`--precision must be one or more of ${PRECISIONS.join(', ')}, comma-separated and each once, got ${values.precision}.\n${USAGE}`);
    return 2;
  }
  const shardMb = values['max-shard-mb'] === undefined ? DEFAULT_MAX_SHARD_BYTES / 2 ** 20 : Number(values['max-shard-mb']);
  if (!(shardMb > 0 && shardMb <= 2048)) {
    console.error(`--max-shard-mb must be a number in (0, 2048], got ${values['max-shard-mb']}.`);
    return 2;
  }
  const partMb = values['max-weight-part-mb'] === undefined ? undefined : Number(values['max-weight-part-mb']);
  if (partMb !== undefined && !(partMb > 0 && partMb <= 2048)) {
    console.error(`--max-weight-part-mb must be a number in (0, 2048], got ${values['max-weight-part-mb']}.`);
    return 2;
  }
  const pipeline = values['image-pipeline'];
  if (pipeline !== undefined && !IMAGE_PIPELINES.includes(pipeline as ImagePipeline)) {
    console.error(`--image-pipeline must be one of ${IMAGE_PIPELINES.join(', ')}, got ${pipeline}.`);
    return 2;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  let label = '';
  const common = {
    maxShardBytes: Math.floor(shardMb * 2 ** 20),
    ...(partMb === undefined ? {} : { maxWeightPartBytes: Math.floor(partMb * 2 ** 20) }),
    overwrite: values.force,
    ...(pipeline === undefined ? {} : { imagePipeline: pipeline as ImagePipeline }),
    ...(values.revision === undefined ? {} : { revision: values.revision }),
    ...(values['hub-endpoint'] === undefined ? {} : { hubEndpoint: values['hub-endpoint'] }),
    ...(process.env['HF_TOKEN'] ? { token: process.env['HF_TOKEN'] } : {}),
    signal: controller.signal,
    onProgress: (p: ExportProgress) => {
      const now = Date.now();
      if (p.doneBytes < p.totalBytes && now - lastLine < 500) return;
      lastLine = now;
      const line = `export${label} ${formatExportProgress(p)}`;
      if (tty) process.stderr.write(`\r${line.padEnd(100)}`);
      else process.stderr.write(`${line}\n`);
    },
  };
  const describe = (m: { precision: string; graphs: readonly unknown[]; shards: readonly unknown[]; weights: object }, dir: string, bytes: number): string =>
    `${dir}: ${m.precision}, ${m.graphs.length} graphs, ${m.shards.length} shards, ${Object.keys(m.weights).length} weights, ${formatBytes(bytes)}`;
  if (precisions.length === 1) {
    const result = await exportPackage(source, values.out, { ...common, precision: precisions[0] as Precision });
    if (tty) process.stderr.write('\n');
    console.log(`Wrote ${describe(result.manifest, result.outDir, result.totalBytes)}.`);
    return 0;
  }
  const result = await exportVariants(source, values.out, {
    ...common,
    precisions: precisions as Precision[],
    onVariant: (p, i) => {
      if (tty && i > 0) process.stderr.write('\n');
      label = ` ${p} (${i + 1}/${precisions.length})`;
    },
  });
  if (tty) process.stderr.write('\n');
  for (const v of result.variants) console.log(`Wrote ${describe(v.manifest, v.outDir, v.totalBytes)}.`);
  console.log(`Wrote ${result.outDir}/variants.json: ${result.index.variants.map((v) => v.precision).join(', ')}, ${formatBytes(result.totalBytes)} in all.`);
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
