/**
 * The whole model through the engine: package load, GPU memory, image encode, prefill, decode at several
 * context lengths and the time to first token of an image chat — for our kernels and for the ORT-only paths
 * (vision tower and decode step), on whatever GPU Dawn finds.
 *
 * What is timed (wall clock, performance.now(); GPU work is awaited with onSubmittedWorkDone or a readback):
 * - load: createNodeEngine on the package directory (manifest, tokenizer, weights read from disk and uploaded,
 *   ORT sessions created) until it is ready.
 * - memory: bytes of live GPU buffers (ours and ORT's, counted by wrapping the device) after load and at peak.
 * - image encode: SarashinaModel.encodeImages on preprocessed pixels of a W×H picture (the preprocessor's pixel
 *   budget raised to fit), median of the repeats after one warm-up.
 * - prefill and decode at context N: engine.chat.completions.create with a text prompt of about N tokens, greedy,
 *   --decode-tokens new tokens, the engine's own timings; twice per N (the first run of a prompt length also pays
 *   for ORT's shader compilation of that shape: "cold"). Then the same decode steps recorded back to back on the
 *   model without reading tokens back ("queued"): what the GPU and the recording cost alone.
 * - TTFT: engine.chat.completions.create with a fresh W×H PNG (a data: URL, decoded by the engine) and a
 *   32-token question, greedy; the engine's own timings (its decode rate is the end-to-end one at that context).
 *
 * Here (SwiftShader, a small package):  npx vite-node bench/model.bench.ts -- --package DIR --quick
 * GPU machine:  node bench/gpu/bundle.mjs bench/model.bench.ts, then there
 *               source .gpu/env.sh && "$NODE" bench/out/gpu-bundle/model.mjs --package DIR --out $OUT/model.json
 */
import { writeFileSync } from 'node:fs';
import { createNodeEngine } from '../src/api/node-platform';
import type { LocalEngine } from '../src/api/local-engine';
import { GpuSampler } from '../shaders/sampler/gpu-sampler';
import { KernelCache } from '../src/gpu/kernel';
import { NodeDirSource } from '../src/loader/node-dir-source';
import { SarashinaModel } from '../src/model/sarashina-model';
import { planPackage } from '../src/model/package-plan';
import type { DecodePath } from '../src/model/vision-language-model';
import type { ChatCompletion, Timings } from '../src/protocol/api';
import { readManifest } from '../src/protocol/package-source';
import { allDecoderLinears, scalesName, WEIGHTS } from '../src/protocol/weight-names';
import { planImage, preprocessImages } from '../src/processor/image/preprocess-images';
import { TextProcessor } from '../src/processor/text/text-processor';
import { trackGpu } from '../src/testing/gpu-tracker';
import { encodeRgbPng } from '../export/train/encode-rgb-png';
import { benchGpuContext } from './gpu/bench-gpu';
import { DispatchProfiler, type DispatchTime } from './gpu/dispatch-profiler';
import { measureReadBandwidth } from './gpu/read-bandwidth';

interface Args {
  readonly packageDir: string;
  readonly out: string | undefined;
  readonly contexts: number[];
  readonly decodeTokens: number;
  readonly paths: DecodePath[];
  readonly images: { width: number; height: number }[];
  readonly repeats: number;
  readonly questionTokens: number;
  readonly quick: boolean;
  /** Load the first path and exit (for a CPU profile of loading). */
  readonly loadOnly: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const packageDir = value('package');
  if (!packageDir) throw new Error('usage: model.bench.ts --package DIR [--out FILE] [--quick] [--contexts 300,1000] [--decode-tokens 64] [--paths kernels,ort-baseline] [--images 448x448,...] [--repeats 3]');
  const list = (name: string, fallback: string): string[] => (value(name) ?? fallback).split(',').filter(Boolean);
  return {
    packageDir,
    out: value('out'),
    contexts: list('contexts', quick ? '40,100' : '300,1000,2000,3500').map(Number),
    decodeTokens: Number(value('decode-tokens') ?? (quick ? 8 : 64)),
    paths: list('paths', 'kernels,ort-baseline') as DecodePath[],
    images: list('images', quick ? '56x56,112x84' : '448x448,768x1024,1344x1792').map((s) => {
      const [w, h] = s.split('x').map(Number);
      return { width: w ?? 0, height: h ?? 0 };
    }),
    repeats: Number(value('repeats') ?? (quick ? 1 : 3)),
    questionTokens: Number(value('question-tokens') ?? 32),
    quick,
    loadOnly: argv.includes('--load-only'),
  };
}

const args = parseArgs(process.argv.slice(2));
const now = (): number => performance.now();
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

/** A deterministic picture: gradients plus noise (the content does not change the work). */
function picture(width: number, height: number, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < width * height; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const x = i % width;
    const y = Math.floor(i / width);
    rgb[i * 3] = (x * 255) / width + (s & 31);
    rgb[i * 3 + 1] = (y * 255) / height + ((s >>> 8) & 31);
    rgb[i * 3 + 2] = (s >>> 16) & 255;
  }
  return rgb;
}

const ctx = await benchGpuContext();
const { device } = ctx;
const tracker = trackGpu(device);
const source = new NodeDirSource(args.packageDir);
const manifest = await readManifest(source);
const vocab = manifest.model.text.vocabSize;
const text = TextProcessor.fromFiles({
  tokenizerJson: JSON.parse(new TextDecoder().decode(await source.readBytes(manifest.tokenizer.tokenizer.path))) as unknown,
  tokenizerConfig: JSON.parse(new TextDecoder().decode(await source.readBytes(manifest.tokenizer.tokenizerConfig.path))) as unknown,
  ...(manifest.tokenizer.chatTemplate ? { chatTemplate: JSON.parse(new TextDecoder().decode(await source.readBytes(manifest.tokenizer.chatTemplate.path))) as unknown } : {}),
  specialTokens: manifest.model.tokens,
});
const caps = ctx.capabilities;
const packageBytes = manifest.shards.reduce((n, s) => n + s.sizeBytes, 0);
// The roofline: bytes one decode step must read (every decoder and lm_head weight once, one embedding row, the
// KV cache up to the position) ÷ the read bandwidth a WGSL kernel reaches on this card, measured here.
const stepWeights = new Set([WEIGHTS.finalNorm, ...allDecoderLinears(manifest.model).flatMap((name) => [name, scalesName(name)])]);
for (let l = 0; l < manifest.model.text.numLayers; l++) stepWeights.add(WEIGHTS.decoderLayer(l).inputNorm).add(WEIGHTS.decoderLayer(l).postAttentionNorm);
// A weight stored as row parts (manifest weightSplits) is read as its parts.
for (const [name, split] of Object.entries(manifest.weightSplits)) if (stepWeights.has(name)) for (const part of split.parts) stepWeights.add(part);
const stepWeightBytes = Object.entries(manifest.weights)
  .filter(([name]) => stepWeights.has(name))
  .reduce((n, [, w]) => n + w.sizeBytes, 0);
// KV elements are f16 in q4f16 packages, f32 otherwise.
const kvBytesPerPosition = manifest.model.text.numLayers * 2 * manifest.model.text.numKvHeads * manifest.model.text.headDim * (manifest.precision === 'q4f16' ? 2 : 4);
const readBytesPerSecond = await measureReadBandwidth(device, Math.floor(Math.min(args.quick ? 2 ** 26 : 2 ** 30, caps.maxStorageBufferBindingSize, caps.maxBufferSize) / 16) * 16);
const rooflineTokensPerSecond = (context: number): number => readBytesPerSecond / (stepWeightBytes + context * kvBytesPerPosition);
log(`read bandwidth ${(readBytesPerSecond / 1e9).toFixed(0)} GB/s; a decode step reads ${(stepWeightBytes / 1e9).toFixed(2)} GB of weights + ${(kvBytesPerPosition / 2 ** 20).toFixed(2)} MiB of KV per position`);
log(`adapter ${caps.vendor} / ${caps.architecture} / ${caps.description}; package ${args.packageDir} (${manifest.precision}, ${(packageBytes / 1e9).toFixed(2)} GB of weights)`);

const WORDS = ['この', '画像', 'に', '写って', 'いる', '物', 'の', '色', 'と', '形', 'と', '位置', 'を', '詳しく', '説明', 'して', 'ください', '。'];

/** Prompt length of one user message (with `images` image parts of one token each). */
function promptLength(content: string, images: number): number {
  const parts = [...Array.from({ length: images }, () => ({ type: 'image_url' as const })), { type: 'text' as const, text: content }];
  return text.buildPrompt({ messages: [{ role: 'user', content: parts }], imageTokenCounts: Array.from({ length: images }, () => 1), maxNewTokens: 1, contextTokens: 1 << 20 }).inputIds.length;
}

/** A question of at least `tokens` tokens after the image (counted by building the prompt). */
function question(tokens: number): string {
  const base = promptLength('', 1);
  let q = '';
  for (let i = 0; promptLength(q, 1) - base < tokens && i < 10 * tokens; i++) q += WORDS[i % WORDS.length];
  return q;
}

/** Text whose whole prompt is about `tokens` tokens (whole sentences, calibrated on the tokenizer). */
function promptText(tokens: number): string {
  const sentence = WORDS.join('');
  const base = promptLength('', 0);
  const per = (promptLength(sentence.repeat(20), 0) - base) / 20;
  return sentence.repeat(Math.max(1, Math.round((tokens - base) / per)));
}
const QUESTION = question(args.questionTokens);

interface PathResult {
  decodePath: DecodePath;
  visionPath: DecodePath;
  loadMs: number;
  gpuBytesAfterLoad: number;
  imageEncodeMs: Record<string, { patches: number; ms: number; runs: number[] } | { error: string }>;
  loadUploadMs: number;
  loadSessionsMs: number;
  contexts: {
    context: number;
    promptTokens: number;
    completionTokens: number;
    prefillColdMs: number;
    prefillMs: number;
    prefillTokensPerSecond: number;
    decodeTokensPerSecond: number;
    decodeRuns: number[];
    queuedStepsPerSecond: number;
    rooflineTokensPerSecond: number;
  }[];
  ttft: { promptTokens: number; imageTokens: number; runs: Timings[]; timeToFirstTokenMs: number; decodeTokensPerSecond: number };
  gpuPeakBytes: number;
  /** GPU time per kernel (timestamp queries, one pass per dispatch): one decode step at the first and last context, one 448² encode. */
  profiles: Record<string, { dispatches: number; untimed: number; totalMs: number; byLabel: DispatchTime[] } | { error: string }>;
}

/** Large enough for any card (the H200 has 141 GB): the bench runs the contexts it is asked to. */
const BENCH_MEMORY_BUDGET_BYTES = 2 ** 40;

async function benchPath(path: DecodePath): Promise<PathResult> {
  const ttftImage = args.images[0] ?? { width: 448, height: 448 };
  const ttftPromptTokens = planImage(ttftImage.height, ttftImage.width, manifest.imageProcessor).tokenCount + args.questionTokens + 64;
  const contextTokens = Math.max(...args.contexts, ttftPromptTokens) + args.decodeTokens + 8;
  let model: SarashinaModel | null = null;
  tracker.resetPeak();
  const baseBytes = tracker.liveBytes();
  const t0 = now();
  let uploadDoneAt = 0;
  let sessionsDoneAt = 0;
  const engine: LocalEngine = await createNodeEngine({
    model: args.packageDir,
    context: ctx,
    contextTokens,
    // The bench measures memory instead of planning for it: no budget of its own.
    memoryBudgetBytes: BENCH_MEMORY_BUDGET_BYTES,
    onProgress: (p) => {
      if (p.phase === 'upload' && p.loadedBytes >= p.totalBytes && uploadDoneAt === 0) uploadDoneAt = now();
      if (p.phase === 'compile' && sessionsDoneAt === 0) sessionsDoneAt = now();
    },
    loadModel: async (c, s, plan, o) => (model = await SarashinaModel.load(c, s, planPackage(plan.manifest, c.capabilities, { contextTokens, memoryBudgetBytes: BENCH_MEMORY_BUDGET_BYTES, decodePath: path, visionPath: path }), o)),
  });
  await device.queue.onSubmittedWorkDone();
  const loadMs = now() - t0;
  const loadUploadMs = uploadDoneAt - t0;
  const loadSessionsMs = sessionsDoneAt - uploadDoneAt;
  if (!model) throw new Error('loadModel was not called');
  const m: SarashinaModel = model;
  const gpuBytesAfterLoad = tracker.liveBytes() - baseBytes;
  if (args.loadOnly) {
    log(`${path}: loaded in ${(loadMs / 1000).toFixed(1)} s (upload ${(loadUploadMs / 1000).toFixed(1)} s, ORT sessions ${(loadSessionsMs / 1000).toFixed(1)} s)`);
    process.exit(0);
  }
  log(`${path}: loaded in ${(loadMs / 1000).toFixed(1)} s (weights read + uploaded after ${(loadUploadMs / 1000).toFixed(1)} s, ORT sessions ${(loadSessionsMs / 1000).toFixed(1)} s), ${(gpuBytesAfterLoad / 2 ** 30).toFixed(2)} GiB on the GPU, context ${m.contextTokens}, decode path ${m.decodePath}`);

  const contexts: PathResult['contexts'] = [];
  for (const n of args.contexts) {
    const content = promptText(n);
    const runs: { timings: Timings; promptTokens: number; completionTokens: number }[] = [];
    // One cold run, then three warm ones whose medians are reported (single runs showed rare stalls of ~1 s).
    for (let r = 0; r < 4; r++) {
      engine.generator.resetPrefix();
      const completion = (await engine.chat.completions.create({ messages: [{ role: 'user', content }], max_tokens: args.decodeTokens, temperature: 0 })) as ChatCompletion & { timings: Timings };
      runs.push({ timings: completion.timings, promptTokens: completion.usage.prompt_tokens, completionTokens: completion.usage.completion_tokens });
    }
    const [cold, ...warmRuns] = runs as [(typeof runs)[number], ...(typeof runs)[number][]];
    const warm = warmRuns[0] ?? cold;
    // The same decode steps queued back to back on the model (the token buffer keeps one id): no per-token round trip.
    const sampler = new GpuSampler(device, new KernelCache(device), { vocab, maxPreviousIds: 16 });
    await sampler.sample(await m.prefill(new Int32Array([1]), warm.promptTokens - 1, []), { temperature: 0 }, 0);
    const queued: number[] = [];
    for (let r = 0; r < 3; r++) {
      const tq = now();
      for (let step = 0; step < args.decodeTokens; step++) await m.decode(sampler.tokenBuffer, warm.promptTokens + step);
      await device.queue.onSubmittedWorkDone();
      queued.push((args.decodeTokens * 1000) / (now() - tq));
    }
    const queuedStepsPerSecond = median(queued);
    sampler.destroy();
    engine.generator.resetPrefix();
    const t = { prefillMs: median(warmRuns.map((w) => w.timings.prefillMs)), decodeTokensPerSecond: median(warmRuns.map((w) => w.timings.decodeTokensPerSecond)) };
    contexts.push({
      context: n,
      promptTokens: warm.promptTokens,
      completionTokens: warm.completionTokens,
      prefillColdMs: round(cold.timings.prefillMs),
      prefillMs: round(t.prefillMs),
      prefillTokensPerSecond: round((warm.promptTokens * 1000) / t.prefillMs, 1),
      decodeTokensPerSecond: round(t.decodeTokensPerSecond, 1),
      decodeRuns: warmRuns.map((w) => round(w.timings.decodeTokensPerSecond, 1)),
      queuedStepsPerSecond: round(queuedStepsPerSecond, 1),
      rooflineTokensPerSecond: round(rooflineTokensPerSecond(warm.promptTokens), 0),
    });
    log(
      `${path}: context ${warm.promptTokens}: prefill ${t.prefillMs.toFixed(1)} ms (cold ${cold.timings.prefillMs.toFixed(1)} ms; ${((warm.promptTokens * 1000) / t.prefillMs).toFixed(0)} tok/s), ` +
        `decode ${t.decodeTokensPerSecond.toFixed(1)} tok/s over ${warm.completionTokens} tokens (runs ${warmRuns.map((w) => w.timings.decodeTokensPerSecond.toFixed(0)).join(' ')}; cold run ${cold.timings.decodeTokensPerSecond.toFixed(1)}), queued ${queuedStepsPerSecond.toFixed(1)} steps/s`,
    );
  }

  const profiles: PathResult['profiles'] = {};
  if (caps.timestampQuery) {
    const profiler = new DispatchProfiler(device);
    const sampler = new GpuSampler(device, new KernelCache(device), { vocab, maxPreviousIds: 16 });
    for (const c of [contexts[0], contexts.at(-1)]) {
      if (!c) continue;
      const key = `decode@${c.promptTokens}`;
      try {
        const steps = 4;
        await m.decode(sampler.tokenBuffer, c.promptTokens);
        await device.queue.onSubmittedWorkDone();
        profiler.install();
        for (let i = 0; i < steps; i++) await m.decode(sampler.tokenBuffer, c.promptTokens + i);
        const r = await profiler.collect();
        profiles[key] = { dispatches: r.dispatches / steps, untimed: r.untimed, totalMs: r.totalMs / steps, byLabel: r.byLabel.map((b) => ({ label: b.label, count: b.count / steps, totalMs: b.totalMs / steps })) };
        log(`${path}: ${key} profile: ${(r.dispatches / steps).toFixed(0)} dispatches, ${(r.totalMs / steps).toFixed(2)} ms of kernels per step: ${r.byLabel.slice(0, 8).map((b) => `${b.label} ${(b.totalMs / steps).toFixed(2)}`).join(', ')}`);
      } catch (e) {
        await profiler.collect().catch(() => undefined);
        profiles[key] = { error: String(e).slice(0, 300) };
      }
    }
    sampler.destroy();
    const size = args.images[0];
    if (size) {
      try {
        const spec = { ...manifest.imageProcessor, maxPixels: Math.max(manifest.imageProcessor.maxPixels, size.width * size.height) };
        const pixels = preprocessImages([{ width: size.width, height: size.height, channels: 3, bitDepth: 8, data: picture(size.width, size.height, 5) }], spec);
        (await m.encodeImages(pixels)).release();
        await device.queue.onSubmittedWorkDone();
        profiler.install();
        const features = await m.encodeImages(pixels);
        const r = await profiler.collect();
        features.release();
        profiles[`encode@${size.width}x${size.height}`] = r;
        log(`${path}: encode ${size.width}x${size.height} profile: ${r.dispatches} dispatches (${r.untimed} untimed), ${r.totalMs.toFixed(2)} ms of kernels: ${r.byLabel.slice(0, 8).map((b) => `${b.label}×${b.count} ${b.totalMs.toFixed(2)}`).join(', ')}`);
      } catch (e) {
        await profiler.collect().catch(() => undefined);
        profiles[`encode@${size.width}x${size.height}`] = { error: String(e).slice(0, 300) };
      }
    }
    profiler.destroy();
  }

  // Time to first token: a fresh picture each run (no feature-cache or prefix reuse), the engine's own timings.
  const ttftSize = ttftImage;
  const runs: Timings[] = [];
  let promptTokens = 0;
  let imageTokens = 0;
  for (let r = 0; r <= args.repeats; r++) {
    engine.generator.resetPrefix();
    const png = encodeRgbPng(picture(ttftSize.width, ttftSize.height, 1000 + r), ttftSize.width, ttftSize.height);
    const completion = (await engine.chat.completions.create({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } }, { type: 'text', text: QUESTION }] }],
      max_tokens: args.decodeTokens,
      temperature: 0,
    })) as ChatCompletion & { timings: Timings };
    promptTokens = completion.usage.prompt_tokens;
    imageTokens = completion.usage.image_tokens;
    if (r > 0) runs.push(completion.timings);
  }
  const ttftMs = median(runs.map((t) => t.timeToFirstTokenMs));
  const e2eDecode = median(runs.map((t) => t.decodeTokensPerSecond));
  log(`${path}: TTFT ${ttftMs.toFixed(1)} ms (${promptTokens} prompt tokens, ${imageTokens} image tokens), engine decode ${e2eDecode.toFixed(1)} tok/s`);
  // Images last: the ORT-only vision path on the largest picture is the slowest part of the run.
  const imageEncodeMs: PathResult['imageEncodeMs'] = {};
  for (const { width, height } of args.images) {
    const key = `${width}x${height}`;
    try {
      const spec = { ...manifest.imageProcessor, maxPixels: Math.max(manifest.imageProcessor.maxPixels, width * height) };
      const pixels = preprocessImages([{ width, height, channels: 3, bitDepth: 8, data: picture(width, height, width) }], spec);
      const patches = pixels.grids.reduce((n, g) => n + g.t * g.h * g.w, 0);
      const runs: number[] = [];
      for (let r = 0; r <= args.repeats; r++) {
        const t = now();
        const features = await m.encodeImages(pixels);
        await device.queue.onSubmittedWorkDone();
        const dt = now() - t;
        features.release();
        if (r > 0) runs.push(dt);
      }
      imageEncodeMs[key] = { patches, ms: round(median(runs)), runs: runs.map((x) => round(x)) };
      log(`${path}: image ${key} (${patches} patches) ${median(runs).toFixed(1)} ms`);
    } catch (e) {
      imageEncodeMs[key] = { error: String(e).slice(0, 300) };
      log(`${path}: image ${key} failed: ${String(e).slice(0, 200)}`);
    }
  }

  const gpuPeakBytes = tracker.peakBytes() - baseBytes;
  await engine.dispose();
  return {
    decodePath: m.decodePath,
    visionPath: path,
    loadMs: round(loadMs, 0),
    loadUploadMs: round(loadUploadMs, 0),
    loadSessionsMs: round(loadSessionsMs, 0),
    gpuBytesAfterLoad,
    imageEncodeMs,
    contexts,
    ttft: { promptTokens, imageTokens, runs, timeToFirstTokenMs: round(ttftMs), decodeTokensPerSecond: round(e2eDecode, 1) },
    gpuPeakBytes,
    profiles,
  };
}

const results: PathResult[] = [];
for (const path of args.paths) results.push(await benchPath(path));

const report = {
  bench: 'model',
  date: new Date().toISOString(),
  commit: process.env.BENCH_COMMIT ?? 'unknown',
  runtime: `node ${process.version}, Dawn (webgpu npm package)`,
  adapter: { vendor: caps.vendor, architecture: caps.architecture, description: caps.description, subgroups: caps.subgroups, subgroupMaxSize: caps.subgroupMaxSize },
  package: { dir: args.packageDir, precision: manifest.precision, weightBytes: packageBytes, layers: manifest.model.text.numLayers, hidden: manifest.model.text.hiddenSize },
  roofline: { readBytesPerSecond: Math.round(readBytesPerSecond), stepWeightBytes, kvBytesPerPosition },
  settings: { contexts: args.contexts, decodeTokens: args.decodeTokens, repeats: args.repeats, question: QUESTION },
  results,
};
if (args.out) writeFileSync(args.out, `${JSON.stringify(report, null, 1)}\n`);

console.log('\npath          | load s | GPU GiB | ' + args.images.map((i) => `enc ${i.width}x${i.height} ms`).join(' | ') + ' | TTFT ms | ' + args.contexts.map((c) => `dec@${c} (queued) tok/s`).join(' | ') + ' | ' + args.contexts.map((c) => `pre@${c} tok/s`).join(' | '));
for (const r of results) {
  const enc = args.images.map((i) => {
    const e = r.imageEncodeMs[`${i.width}x${i.height}`];
    return e && 'ms' in e ? e.ms.toFixed(1) : 'failed';
  });
  console.log(
    [r.decodePath.padEnd(13), (r.loadMs / 1000).toFixed(1), (r.gpuPeakBytes / 2 ** 30).toFixed(2), ...enc, r.ttft.timeToFirstTokenMs.toFixed(1), ...r.contexts.map((c) => `${c.decodeTokensPerSecond} (${c.queuedStepsPerSecond})`), ...r.contexts.map((c) => String(c.prefillTokensPerSecond))].join(' | '),
  );
}
process.exit(0);
