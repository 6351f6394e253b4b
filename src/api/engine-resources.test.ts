/**
 * The engine's GPU resources: after a chat with an image (features cached, sampler buffers, KV cache),
 * dispose() leaves no buffer alive that the engine created; a shared GPU context stays usable.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPackage } from '../../export/package/export-package';
import { testGpuContext } from '../testing/node-gpu';
import { createNodeEngine } from './node-platform';

const FIXTURES = 'export/reference/fixtures/tiny';

function trackBuffers(device: GPUDevice): { live: Set<GPUBuffer>; restore: () => void } {
  const live = new Set<GPUBuffer>();
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = createBuffer(descriptor);
    live.add(buffer);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = (): undefined => {
      live.delete(buffer);
      return destroy();
    };
    return buffer;
  };
  return { live, restore: () => void (device.createBuffer = createBuffer) };
}

describe('engine resources', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engine-resources-'));
    await exportPackage(join(FIXTURES, 'checkpoint'), join(dir, 'q4f32'), { precision: 'q4f32' });
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('dispose() frees every GPU buffer the engine created', async () => {
    const context = await testGpuContext();
    const tracker = trackBuffers(context.device);
    try {
      const engine = await createNodeEngine({ model: join(dir, 'q4f32'), contextTokens: 128, context });
      const image = new Blob([new Uint8Array(await readFile(join(FIXTURES, 'images', 'gradient-disc-90x60.png')))]);
      const done = await engine.chat.completions.create({
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: 'What is this?' }] }],
        max_tokens: 3,
        temperature: 0.8,
        top_p: 0.9,
        repetition_penalty: 1.1,
        seed: 7,
      });
      expect(done.usage.completion_tokens).toBeGreaterThan(0);
      expect(engine.generator.cachedImageCount).toBe(1);
      expect(tracker.live.size).toBeGreaterThan(10);
      await engine.dispose();
      expect(tracker.live.size).toBe(0);
      // The shared context was not destroyed.
      context.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }).destroy();
    } finally {
      tracker.restore();
    }
  }, 120_000);

  it('a lost device rejects later requests with device-lost, and a new engine works again', async () => {
    // The engine owns this context (no `context` option): losing its device must not touch other tests'.
    const engine = await createNodeEngine({ model: join(dir, 'q4f32'), contextTokens: 128 });
    const request = { messages: [{ role: 'user' as const, content: 'こんにちは' }], max_tokens: 2 };
    expect((await engine.chat.completions.create(request)).usage.completion_tokens).toBeGreaterThan(0);
    engine.context.device.destroy(); // what a driver reset or a lost GPU process looks like to WebGPU
    await engine.context.lost;
    await expect(engine.chat.completions.create(request)).rejects.toMatchObject({ code: 'device-lost' });
    await engine.dispose();
    const again = await createNodeEngine({ model: join(dir, 'q4f32'), contextTokens: 128 });
    expect((await again.chat.completions.create(request)).usage.completion_tokens).toBeGreaterThan(0);
    await again.dispose();
  }, 120_000);
});
