import { describe, expect, it } from 'vitest';
import { readBuffer, uploadBuffer } from '../../src/gpu/gpu-buffers';
import { KernelCache } from '../../src/gpu/kernel';
import type { SamplingOptions } from '../../src/protocol/sampling-options';
import { randomFloats } from '../../src/testing/compare';
import { testGpuContext } from '../../src/testing/node-gpu';
import { GpuSampler, SAMPLE_PENALTY, SAMPLE_TOKEN, samplerWorkgroupSize } from './gpu-sampler';
import { pcgHash, sampleReference, samplerUniform, samplingDistribution } from './sampler-reference';

async function drawMany(sampler: GpuSampler, device: GPUDevice, logits: GPUBuffer, options: SamplingOptions, step: number, draws: number): Promise<Uint32Array> {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  sampler.record(pass, logits, options, step, draws);
  pass.end();
  device.queue.submit([encoder.finish()]);
  return new Uint32Array(await readBuffer(device, sampler.tokenBuffer, draws * 4));
}

describe('GPU sampler', () => {
  it('greedy equals the CPU argmax over the full vocabulary (102400), first index on ties', async () => {
    const { device } = await testGpuContext();
    const vocab = 102400;
    const logits = Float32Array.from(randomFloats(vocab, 21), (v) => v * 10);
    let best = 0;
    for (let i = 1; i < vocab; i++) if ((logits[i] ?? 0) > (logits[best] ?? 0)) best = i;
    const sampler = new GpuSampler(device, new KernelCache(device), { vocab, maxPreviousIds: 8 });
    const buf = uploadBuffer(device, 'logits', logits);
    expect(await sampler.sample(buf, { temperature: 0 }, 0)).toBe(best);
    // A tie at a later index keeps the first; a larger value at index 0 wins.
    const tied = Float32Array.from(logits);
    tied[vocab - 1] = tied[best] ?? 0;
    device.queue.writeBuffer(buf, 0, tied);
    expect(await sampler.sample(buf, { temperature: 0 }, 1)).toBe(best);
    tied[0] = 100;
    device.queue.writeBuffer(buf, 0, tied);
    expect(await sampler.sample(buf, { temperature: 0 }, 2)).toBe(0);
    sampler.destroy();
    buf.destroy();
  });

  it('repetition penalty (HF rule, positive and negative logits) changes the greedy pick as on the CPU', async () => {
    const { device } = await testGpuContext();
    const logits = new Float32Array([2.0, 1.9, -0.5, -0.4, 1.0]);
    const sampler = new GpuSampler(device, new KernelCache(device), { vocab: logits.length, maxPreviousIds: 8 });
    const buf = uploadBuffer(device, 'logits', logits);
    sampler.addPreviousIds([0, 0, 3]); // duplicates must not penalize twice
    const options = { temperature: 0, repetitionPenalty: 1.2 };
    const want = samplingDistribution(logits, options, [0, 0, 3]).indexOf(1);
    expect(want).toBe(1);
    expect(await sampler.sample(buf, options, 0)).toBe(want);
    const after = new Float32Array(await readBuffer(device, buf, logits.byteLength));
    expect(after[0]).toBeCloseTo(2.0 / 1.2, 6);
    expect(after[3]).toBeCloseTo(-0.4 * 1.2, 6);
    expect(after[1]).toBe(logits[1]);
    sampler.destroy();
    buf.destroy();
  });

  const statCases: { name: string; options: SamplingOptions }[] = [
    { name: 'temperature 0.8', options: { temperature: 0.8, seed: 1234 } },
    { name: 'top-k 7', options: { temperature: 1, topK: 7, seed: 99 } },
    { name: 'top-p 0.7', options: { temperature: 1.3, topP: 0.7, seed: 5 } },
    { name: 'top-k 12 + top-p 0.9', options: { temperature: 0.7, topK: 12, topP: 0.9, seed: 77 } },
  ];
  for (const c of statCases) {
    it(`${c.name}: draws follow the CPU distribution (chi-square) and never leave the kept set`, async () => {
      const { device } = await testGpuContext();
      const vocab = 40;
      const draws = 1000;
      const logits = Float32Array.from(randomFloats(vocab, 31), (v) => v * 3);
      const probs = samplingDistribution(logits, c.options);
      const sampler = new GpuSampler(device, new KernelCache(device), { vocab, maxPreviousIds: 1, maxDraws: draws });
      const buf = uploadBuffer(device, 'logits', logits);
      const got = await drawMany(sampler, device, buf, c.options, 1000, draws);
      const counts = new Float64Array(vocab);
      let sameAsReference = 0;
      got.forEach((id, d) => {
        expect(probs[id] ?? 0, `token ${id} outside the kept set`).toBeGreaterThan(0);
        counts[id] = (counts[id] ?? 0) + 1;
        if (id === sampleReference(probs, samplerUniform(c.options.seed ?? 0, 1000 + d))) sameAsReference++;
      });
      // Same u, same pick, except where f32 vs f64 sums straddle u (rare).
      expect(sameAsReference / draws).toBeGreaterThan(0.99);
      // Pearson chi-square over the kept tokens (expected ≥ 5 each pooled): with df ≤ 39 the 0.999 quantile is < 75.
      let chi2 = 0;
      let pooledObs = 0;
      let pooledExp = 0;
      let df = -1;
      probs.forEach((p, i) => {
        const expected = p * draws;
        if (expected <= 0) return;
        if (expected < 5) {
          pooledObs += counts[i] ?? 0;
          pooledExp += expected;
          return;
        }
        chi2 += ((counts[i] ?? 0) - expected) ** 2 / expected;
        df++;
      });
      if (pooledExp > 0) chi2 += (pooledObs - pooledExp) ** 2 / pooledExp;
      expect(df).toBeGreaterThan(0);
      expect(chi2).toBeLessThan(75);
      // Same seed and step → the same draws.
      expect(Array.from(await drawMany(sampler, device, buf, c.options, 1000, 16))).toEqual(Array.from(got.subarray(0, 16)));
      sampler.destroy();
      buf.destroy();
    });
  }

  it('top-p over the full vocabulary (102400) picks inside the nucleus, as the CPU reference does', async () => {
    const { device } = await testGpuContext();
    const vocab = 102400;
    const logits = Float32Array.from(randomFloats(vocab, 41), (v) => v * 12);
    const options = { temperature: 1, topP: 0.5, topK: 0, seed: 3 };
    const probs = samplingDistribution(logits, options);
    const sampler = new GpuSampler(device, new KernelCache(device), { vocab, maxPreviousIds: 1, maxDraws: 4 });
    const buf = uploadBuffer(device, 'logits', logits);
    const got = await drawMany(sampler, device, buf, options, 7, 4);
    got.forEach((id, d) => {
      expect(probs[id] ?? 0).toBeGreaterThan(0);
      expect(id).toBe(sampleReference(probs, samplerUniform(3, 7 + d)));
    });
    sampler.destroy();
    buf.destroy();
  });

  it('rejects a full penalty list, a short logits buffer and draws past its capacity (options are checked per request, not here)', async () => {
    const { device } = await testGpuContext();
    const sampler = new GpuSampler(device, new KernelCache(device), { vocab: 4, maxPreviousIds: 1 });
    const buf = uploadBuffer(device, 'logits', new Float32Array(4));
    const short = device.createBuffer({ size: 8, usage: GPUBufferUsage.STORAGE });
    const pass = device.createCommandEncoder().beginComputePass();
    expect(() => sampler.addPreviousIds([1, 2])).toThrow(/repetition-penalty list is full/);
    expect(() => sampler.record(pass, short, { temperature: 0 }, 0)).toThrow(/logits buffer holds 8 bytes/);
    expect(() => sampler.record(pass, buf, { temperature: 0 }, 0, 2)).toThrow(/draws 2 outside 1..1/);
    pass.end();
    sampler.destroy();
    buf.destroy();
    short.destroy();
  });

  it('packs the uniforms by WGSL field name (f32 fields as float bits, padding left zero)', () => {
    const words = SAMPLE_TOKEN.params?.write({ vocab: 7, top_k: 3, seed: 0xfffffffe, step: 9, inv_temperature: 0.5, top_p: 0.25, greedy: 1 });
    expect(words?.byteLength).toBe(32);
    const floats = new Float32Array(words?.buffer ?? new ArrayBuffer(0));
    expect([words?.[0], words?.[1], words?.[2], words?.[3], floats[4], floats[5], words?.[6], words?.[7]]).toEqual([7, 3, 0xfffffffe, 9, 0.5, 0.25, 1, 0]);
    const penalty = SAMPLE_PENALTY.params?.write({ count: 2, vocab: 5, penalty: 1.5 });
    expect(penalty?.byteLength).toBe(16);
    expect(new Float32Array(penalty?.buffer ?? new ArrayBuffer(0))[2]).toBe(1.5);
  });

  it('workgroup size: 1024 for the real vocabulary, small for small ones, within the device limit', () => {
    expect(samplerWorkgroupSize(102400, 1024)).toBe(1024);
    expect(samplerWorkgroupSize(102400, 256)).toBe(256);
    expect(samplerWorkgroupSize(40, 1024)).toBe(32);
    expect(samplerWorkgroupSize(1000, 1024)).toBe(64);
  });

  it('the PRNG mirror is the shader’s PCG (known values)', () => {
    // PCG-RXS-M-XS 32 hash of 0 and 1 (Jarzynski & Olano 2020).
    expect(pcgHash(0)).toBe(129708002);
    expect(pcgHash(1)).toBe(2831084092);
    expect(samplerUniform(0, 0)).toBeGreaterThanOrEqual(0);
    expect(samplerUniform(0, 0)).toBeLessThan(1);
  });
});
