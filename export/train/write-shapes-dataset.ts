/**
 * Writes the training inputs for train_shapes.py.
 *
 * PNG mode (git-ignored export/train/data/ by default; small local runs):
 *   skeleton/            the checkpoint's non-weight files (trained-model-files.ts)
 *   <split>/NNNNNN.png   pictures; <split>.jsonl.gz one line per picture: {file, seed, width, height, objects, qa}
 *
 *   npx vite-node export/train/write-shapes-dataset.ts -- [--out DIR] [--train N] [--eval N]
 *
 * Shard mode (large runs, generated on the GPU machine by several processes at once; bundled with
 * `node bench/gpu/bundle.mjs export/train/write-shapes-dataset.ts`): items from..from+count−1 of one split as
 *   <out>/<split>-<from>.rgb     the pictures' RGB8 rows, back to back
 *   <out>/<split>-<from>.jsonl   one line per picture: {seed, width, height, offset (bytes into .rgb), pictures,
 *                                phrasings (shapes-dataset.ts), objects, qa}
 *   <out>/<split>-<from>.done    written last, so a reader knows the shard is complete
 *
 *   node write-shapes-dataset.mjs --shard --split train --from 0 --count 5000 --out DIR
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeRgbPng } from './encode-rgb-png';
import { DATASET_SPLITS, datasetItem, type DatasetItem, type DatasetSplit } from './shapes-dataset';
import { trainedModelFiles } from './trained-model-files';

/** Object geometry (pixels) for the training script's auxiliary per-token targets, rounded to 0.01 px. */
function objectsJson(item: DatasetItem): object[] {
  const round = (v: number): number => Math.round(v * 100) / 100;
  return item.scene.objects.map(({ shape, colour, position, centreX, centreY, radius }) => ({ shape, colour, position, centreX: round(centreX), centreY: round(centreY), radius: round(radius) }));
}

async function writeSplit(out: string, split: DatasetSplit, count: number): Promise<number> {
  await mkdir(join(out, split), { recursive: true });
  const lines: string[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const item = datasetItem(split, i);
    const file = `${split}/${String(i).padStart(6, '0')}.png`;
    const png = encodeRgbPng(item.rgb, item.scene.width, item.scene.height);
    bytes += png.byteLength;
    await writeFile(join(out, file), png);
    lines.push(JSON.stringify({ file, seed: item.seed, width: item.scene.width, height: item.scene.height, objects: objectsJson(item), qa: item.questions }));
  }
  await writeFile(join(out, `${split}.jsonl.gz`), gzipSync(`${lines.join('\n')}\n`, { level: 9 }));
  return bytes;
}

async function writeShard(out: string, split: DatasetSplit, from: number, count: number): Promise<void> {
  await mkdir(out, { recursive: true });
  const lines: string[] = [];
  const pictures: Uint8Array[] = [];
  let offset = 0;
  for (let i = from; i < from + count; i++) {
    const item = datasetItem(split, i);
    lines.push(
      JSON.stringify({ seed: item.seed, width: item.scene.width, height: item.scene.height, offset, pictures: item.pictures, phrasings: item.phrasings, objects: objectsJson(item), qa: item.questions }),
    );
    pictures.push(item.rgb);
    offset += item.rgb.byteLength;
  }
  const base = join(out, `${split}-${from}`);
  await writeFile(`${base}.rgb`, Buffer.concat(pictures));
  await writeFile(`${base}.jsonl`, `${lines.join('\n')}\n`);
  await writeFile(`${base}.done`, `${count}\n`);
}


async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
  };
  if (argv.includes('--shard')) {
    const split = arg('--split', 'train') as DatasetSplit;
    if (!DATASET_SPLITS.includes(split)) throw new Error(`--split ${split}: use one of ${DATASET_SPLITS.join(', ')}`);
    const from = Number(arg('--from', '0'));
    const count = Number(arg('--count', '1000'));
    await writeShard(arg('--out', 'export/train/data/shards'), split, from, count);
    return;
  }
  const out = arg('--out', 'export/train/data');
  const trainCount = Number(arg('--train', '12000'));
  const evalCount = Number(arg('--eval', '500'));
  await mkdir(join(out, 'skeleton'), { recursive: true });
  for (const [name, text] of Object.entries(trainedModelFiles())) await writeFile(join(out, 'skeleton', name), text);
  const trainBytes = await writeSplit(out, 'train', trainCount);
  const evalBytes = await writeSplit(out, 'eval', evalCount);
  console.log(`wrote ${trainCount} train (${(trainBytes / 1e6).toFixed(1)} MB) and ${evalCount} eval (${(evalBytes / 1e6).toFixed(1)} MB) pictures to ${out}`);
}

await main(process.argv.slice(2).filter((a) => a !== '--'));
