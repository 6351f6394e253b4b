/**
 * Writes the training inputs for train_shapes.py (git-ignored export/train/data/ by default):
 *   skeleton/            the checkpoint's non-weight files (trained-model-files.ts)
 *   <split>/NNNNNN.png   pictures; <split>.jsonl.gz one line per picture: {file, seed, width, height, objects, qa}
 *
 *   npx vite-node export/train/write-shapes-dataset.ts -- [--out DIR] [--train N] [--eval N]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeRgbPng } from './encode-rgb-png';
import { datasetItem, type DatasetSplit } from './shapes-dataset';
import { trainedModelFiles } from './trained-model-files';

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
    // Geometry (pixels) feeds the training script's auxiliary per-token targets.
    const round = (v: number): number => Math.round(v * 100) / 100;
    const objects = item.scene.objects.map(({ shape, colour, position, centreX, centreY, radius }) => ({ shape, colour, position, centreX: round(centreX), centreY: round(centreY), radius: round(radius) }));
    lines.push(JSON.stringify({ file, seed: item.seed, width: item.scene.width, height: item.scene.height, objects, qa: item.questions }));
  }
  await writeFile(join(out, `${split}.jsonl.gz`), gzipSync(`${lines.join('\n')}\n`, { level: 9 }));
  return bytes;
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
  };
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
