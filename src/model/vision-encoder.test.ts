/**
 * VisionEncoder on the exported tiny packages (Dawn + SwiftShader) against the Hugging Face fixtures'
 * image features (export/reference/fixtures/tiny, float32 CPU reference): both vision paths, fp32 and
 * q4f32 (q4f32 keeps the vision weights in f32, so the same 1e-4 bound holds), buffer accounting, errors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../../export/package/export-package';
import { readBuffer } from '../gpu/gpu-buffers';
import type { GpuContext } from '../gpu/gpu-context';
import { KernelCache } from '../gpu/kernel';
import { NodeDirSource } from '../loader/node-dir-source';
import { readManifest } from '../loader/package-source';
import type { PackageManifest } from '../protocol/manifest';
import { compareArrays } from '../testing/compare';
import { testGpuContext } from '../testing/node-gpu';
import { loadCase } from '../testing/package-runner';
import { ModelWeights } from './model-weights';
import { OrtGraphSet } from './ort-graph-set';
import { VisionEncoder, visionPathGraphs } from './vision-encoder';
import type { ImagePixels } from './vision-language-model';

const FIXTURES = 'export/reference/fixtures/tiny';
// fp32 throughout; the H200 run of the same graphs stayed within 1.4e-6 (export/package/exported-parity.test.ts).
const MAX_REL = 1e-4;
// q4f16: f16 weights and activations between layers (each rounding ≤ 2^-11 ≈ 4.9e-4 relative) through 6 blocks
// and the merger; measured 8.9e-4 on SwiftShader.
const MAX_REL_F16 = 5e-3;

function f16Value(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

interface Loaded {
  readonly manifest: PackageManifest;
  readonly weights: ModelWeights;
  readonly graphs: OrtGraphSet;
}

async function caseImages(name: string): Promise<{ images: ImagePixels; features: Float32Array }> {
  const { c, pixels, features } = await loadCase(FIXTURES, name);
  if (!pixels || !features) throw new Error(`case ${name} has no image`);
  return { images: { pixelValues: pixels, grids: c.grids.map(([t, h, w]) => ({ t, h, w })) }, features };
}

async function readFeatures(encoder: VisionEncoder, images: ImagePixels, hidden: number): Promise<Float32Array> {
  const ctx = await testGpuContext();
  const out = await encoder.encode(images);
  try {
    expect(out.dtype).toBe('float32');
    expect(out.rowsPerImage.reduce((a, b) => a + b, 0)).toBe(out.rows);
    return new Float32Array(await readBuffer(ctx.device, out.buffer, out.rows * hidden * 4));
  } finally {
    out.release();
  }
}

describe('VisionEncoder (tiny packages vs Hugging Face image features)', () => {
  let dir: string;
  let kernels: KernelCache;
  const packages: Record<string, Loaded> = {};
  beforeAll(async () => {
    const ctx = await testGpuContext();
    kernels = new KernelCache(ctx.device);
    dir = await mkdtemp(join(tmpdir(), 'vision-encoder-'));
    for (const precision of ['fp32', 'q4f32', 'q4f16'] as const) {
      const out = join(dir, precision);
      await exportPackage(join(FIXTURES, 'checkpoint'), out, { precision });
      const source = new NodeDirSource(out);
      const manifest = await readManifest(source);
      const weights = await ModelWeights.upload(ctx, manifest, source);
      // q4f16's ORT graphs need shader-f16; its kernel path does not (f16 storage, f32 arithmetic).
      packages[precision] = { manifest, weights, graphs: await OrtGraphSet.create(ctx, manifest, source, weights, precision === 'q4f16' ? [] : visionPathGraphs('ort-baseline')) };
    }
  });
  afterAll(async () => {
    for (const p of Object.values(packages)) {
      await p.graphs.dispose();
      p.weights.dispose();
    }
    await rm(dir, { recursive: true, force: true });
  });

  const encoder = async (precision: string, path: 'kernels' | 'ort-baseline', maxBaselinePatches?: number): Promise<VisionEncoder> => {
    const p = packages[precision]!;
    return new VisionEncoder(await testGpuContext(), kernels, p.graphs, p.manifest, { path, weights: p.weights, ...(maxBaselinePatches ? { maxBaselinePatches } : {}) });
  };

  it.each([
    ['fp32', 'image-ja'],
    ['fp32', 'two-images-en'],
    ['q4f32', 'two-images-en'],
  ])('%s %s: kernels path and ORT baseline within 1e-4 of HF, and of each other', async (precision, name) => {
    const { images, features } = await caseImages(name);
    const hidden = packages[precision]!.manifest.model.text.hiddenSize;
    const t0 = performance.now();
    const kernelsOut = await readFeatures(await encoder(precision, 'kernels'), images, hidden);
    const t1 = performance.now();
    const baselineOut = await readFeatures(await encoder(precision, 'ort-baseline'), images, hidden);
    const t2 = performance.now();
    const k = compareArrays(kernelsOut, features);
    const b = compareArrays(baselineOut, features);
    console.log(`${precision} ${name}: kernels ${(t1 - t0).toFixed(0)} ms (maxRel ${k.maxRel.toExponential(1)}), baseline ${(t2 - t1).toFixed(0)} ms (maxRel ${b.maxRel.toExponential(1)})`);
    expect(k.maxRel, `kernels ${JSON.stringify(k)}`).toBeLessThan(MAX_REL);
    expect(b.maxRel, `baseline ${JSON.stringify(b)}`).toBeLessThan(MAX_REL);
    expect(compareArrays(kernelsOut, baselineOut).maxRel).toBeLessThan(MAX_REL);
  });

  it('q4f16 two-images-en: the kernel path stores f16 activations and stays near HF without shader-f16', async () => {
    const { images, features } = await caseImages('two-images-en');
    const hidden = packages.q4f16!.manifest.model.text.hiddenSize;
    const out = await (await encoder('q4f16', 'kernels')).encode(images);
    try {
      expect(out.dtype).toBe('float16');
      const bytes = await readBuffer((await testGpuContext()).device, out.buffer, out.rows * hidden * 2);
      const stats = compareArrays(Float32Array.from(new Uint16Array(bytes), f16Value), features);
      console.log(`q4f16 two-images-en: kernels maxRel ${stats.maxRel.toExponential(1)}, nmse ${stats.nmse.toExponential(1)}`);
      expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(MAX_REL_F16);
    } finally {
      out.release();
    }
  });

  // 1008 patches in one image (several attention tiles per block); the baseline's N² attention would take ~6 s
  // on SwiftShader, so only the engine's path runs here.
  it('fp32 image-large-en: kernels path within 1e-4 of HF', async () => {
    const { images, features } = await caseImages('image-large-en');
    const t0 = performance.now();
    const got = await readFeatures(await encoder('fp32', 'kernels'), images, packages.fp32!.manifest.model.text.hiddenSize);
    const stats = compareArrays(got, features);
    console.log(`fp32 image-large-en: kernels ${(performance.now() - t0).toFixed(0)} ms (maxRel ${stats.maxRel.toExponential(1)})`);
    expect(stats.maxRel, JSON.stringify(stats)).toBeLessThan(MAX_REL);
  });

  it('allocates per call and frees it all: no buffer outlives release(), none is created for the weights', async () => {
    const ctx = await testGpuContext();
    const { images } = await caseImages('two-images-en');
    const enc = await encoder('fp32', 'kernels');
    await (await enc.encode(images)).release(); // warm: ORT may keep its own intermediate buffers cached
    const live = new Set<GPUBuffer>();
    const device = ctx.device;
    const create = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
      const buffer = create(descriptor);
      if (descriptor.label?.startsWith('vision')) {
        live.add(buffer);
        const destroy = buffer.destroy.bind(buffer);
        buffer.destroy = (): undefined => {
          live.delete(buffer);
          return destroy();
        };
      }
      return buffer;
    };
    try {
      const out = await enc.encode(images);
      expect(enc.liveBuffers).toBe(1);
      expect([...live].map((b) => b.label)).toEqual(['vision.image_features']);
      out.release();
      out.release(); // idempotent
      expect(live.size).toBe(0);
      expect(enc.liveBuffers).toBe(0);
    } finally {
      device.createBuffer = create;
    }
  });

  it('rejects bad input with precise errors before any GPU work', async () => {
    const { images } = await caseImages('image-ja');
    const enc = await encoder('fp32', 'kernels');
    await expect(enc.encode({ ...images, pixelValues: images.pixelValues.subarray(1) })).rejects.toMatchObject({ code: 'invalid-request', details: { patches: 24 } });
    await expect(enc.encode({ ...images, grids: [{ t: 1, h: 3, w: 8 }] })).rejects.toMatchObject({ code: 'invalid-request', message: expect.stringContaining('h=3') });
    await expect(enc.encode({ pixelValues: new Float32Array(0), grids: [] })).rejects.toMatchObject({ code: 'invalid-request' });
    const small = await encoder('fp32', 'ort-baseline', 16);
    await expect(small.encode(images)).rejects.toMatchObject({ code: 'image-too-large', details: { patches: 24, maxPatches: 16 } });
    expect(enc.liveBuffers + small.liveBuffers).toBe(0);
  });

  it('refuses patches whose activations exceed the binding limit with image-too-large', async () => {
    const ctx = await testGpuContext();
    const p = packages.fp32!;
    // The same device, reporting a 64 KiB binding limit: qkv [24, 192] f32 needs 18 KiB, pixels [24, 1176] 110 KiB.
    const limited: GpuContext = Object.create(ctx, { capabilities: { value: { ...ctx.capabilities, maxStorageBufferBindingSize: 65536 } } });
    const enc = new VisionEncoder(limited, kernels, p.graphs, p.manifest, { weights: p.weights });
    const { images } = await caseImages('image-ja');
    await expect(enc.encode(images)).rejects.toMatchObject({ code: 'image-too-large', details: { patches: 24, limitBytes: 65536 } });
  });

  it('the ORT baseline without its graph, or with a graph taking other inputs, and the kernels path without weights are refused at construction', async () => {
    const ctx = await testGpuContext();
    const p = packages.fp32!;
    // The q4f16 package's graph set has no sessions (see beforeAll).
    expect(() => new VisionEncoder(ctx, kernels, packages.q4f16!.graphs, packages.q4f16!.manifest, { path: 'ort-baseline' })).toThrow(expect.objectContaining({ code: 'invalid-model', message: expect.stringContaining('vision-whole') }));
    const graphs = p.manifest.graphs.map((g) => (g.name === 'vision-whole' ? { ...g, inputs: g.inputs.slice(1) } : g));
    expect(() => new VisionEncoder(ctx, kernels, p.graphs, { ...p.manifest, graphs }, { path: 'ort-baseline' })).toThrow(expect.objectContaining({ code: 'invalid-model', message: expect.stringContaining('pixel_values') }));
    // The tower kernels read the weights directly: an encoder without them is a wiring error.
    expect(() => new VisionEncoder(ctx, kernels, p.graphs, p.manifest)).toThrow(/need the model weights/);
  });
});
