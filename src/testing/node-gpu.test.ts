/**
 * The test adapter is the one named by $SARASHINA_TEST_ADAPTER, with the capabilities DESIGN.md §8 lists for it:
 * the tests' coverage of f16 / no-f16, subgroup widths and binding limits rests on these. Expected values come from
 * DESIGN.md (and, for isFallbackAdapter, from each driver's adapter info as read on this machine, 2026-12).
 */
import { describe, expect, it } from 'vitest';
import { testAdapter, TEST_ADAPTERS, testGpuContext } from './node-gpu';

const MiB = 2 ** 20;

/** DESIGN.md §8: SwiftShader has no shader-f16, subgroups of 4, 1 GiB bindings; lavapipe 25 has shader-f16, subgroups of 8, 128 MiB. */
const EXPECTED = {
  swiftshader: { shaderF16: false, subgroups: true, subgroupMinSize: 4, subgroupMaxSize: 4, maxStorageBufferBindingSize: 1024 * MiB, isFallbackAdapter: true },
  lavapipe: { shaderF16: true, subgroups: true, subgroupMinSize: 8, subgroupMaxSize: 8, maxStorageBufferBindingSize: 128 * MiB, isFallbackAdapter: true },
} as const;

describe(`test adapter (${testAdapter()})`, () => {
  it('is the adapter SARASHINA_TEST_ADAPTER names, for this process and the processes it starts', async () => {
    const adapter = testAdapter();
    const ctx = await testGpuContext();
    const name = `${ctx.capabilities.description} ${ctx.capabilities.architecture}`.toLowerCase();
    expect(name).toContain(TEST_ADAPTERS[adapter].identity);
    // createNodeEngine's default backend and child processes (`npm run chat`) follow VK_ICD_FILENAMES.
    expect(process.env.VK_ICD_FILENAMES).toBe(TEST_ADAPTERS[adapter].icd);
  });

  it('has the capabilities DESIGN.md §8 lists for it', async () => {
    const ctx = await testGpuContext();
    const c = ctx.capabilities;
    const got = {
      shaderF16: c.shaderF16,
      subgroups: c.subgroups,
      subgroupMinSize: c.subgroupMinSize,
      subgroupMaxSize: c.subgroupMaxSize,
      maxStorageBufferBindingSize: c.maxStorageBufferBindingSize,
      isFallbackAdapter: c.isFallbackAdapter,
    };
    expect(got).toEqual(EXPECTED[testAdapter()]);
  });

  it('on this CPU adapter (Dawn polled on a 1 ms timer) setImmediate is unchanged for JavaScript callbacks, and readbacks resolve', async () => {
    const ctx = await testGpuContext();
    // installNodeWebGpu sends only dawn.node's native poll callback to a timer (src/gpu/node-webgpu.ts, paceDawnPolling).
    const got = await new Promise<{ args: unknown[]; immediate: string }>((resolve) => {
      const handle: unknown = setImmediate((...args: unknown[]) => resolve({ args, immediate: (handle as object).constructor.name }), 'a', 2);
    });
    expect(got).toEqual({ args: ['a', 2], immediate: 'Immediate' });
    const buffer = ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      ctx.device.queue.writeBuffer(buffer, 0, Uint32Array.from([1, 2, 3, 4]));
      await buffer.mapAsync(GPUMapMode.READ);
      expect([...new Uint32Array(buffer.getMappedRange())]).toEqual([1, 2, 3, 4]);
    } finally {
      buffer.destroy();
    }
  });
});
