/**
 * GpuContext's two phases on the test adapter: the adapter's capabilities (what planning reads) and a device
 * requested with given buffer limits. Expected limits come from the adapter itself and from WebGPU's defaults.
 */
import { describe, expect, it } from 'vitest';
import { testAdapter } from '../testing/node-gpu';
import { GpuContext } from './gpu-context';
import { installNodeWebGpu } from './node-webgpu';

describe('GpuContext', () => {
  it('plans on the adapter, then requests a device with the buffer limits asked for; more than the adapter offers is gpu-limits-too-low', async () => {
    const gpu = await installNodeWebGpu({ backend: testAdapter() });
    const choice = await GpuContext.requestAdapter({ gpu });
    expect(choice.capabilities.maxStorageBufferBindingSize).toBe(choice.adapter.limits.maxStorageBufferBindingSize);
    expect(choice.capabilities.shaderF16).toBe(choice.adapter.features.has('shader-f16'));
    const over = choice.adapter.limits.maxStorageBufferBindingSize + 4;
    await expect(GpuContext.create({ adapter: choice, bufferLimits: { maxStorageBufferBindingSize: over, maxBufferSize: Math.max(over, 2 ** 28) } })).rejects.toMatchObject({
      code: 'gpu-limits-too-low',
      details: expect.objectContaining({ limit: 'maxStorageBufferBindingSize', neededBytes: over }),
    });
    // WebGPU's defaults (128 MiB per binding, 256 MiB per buffer), which every adapter offers.
    const ctx = await GpuContext.create({ adapter: await GpuContext.requestAdapter({ gpu }), bufferLimits: { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 } });
    try {
      expect(ctx.device.limits.maxStorageBufferBindingSize).toBe(2 ** 27);
      expect(ctx.capabilities.maxStorageBufferBindingSize).toBe(2 ** 27);
      expect(ctx.capabilities.shaderF16).toBe(choice.capabilities.shaderF16);
      // A buffer past the requested maxBufferSize is a validation error, even where the adapter allows it.
      ctx.device.pushErrorScope('validation');
      ctx.device.createBuffer({ label: 'too-large', size: 2 ** 28 + 4, usage: GPUBufferUsage.STORAGE }).destroy();
      expect(await ctx.device.popErrorScope()).not.toBeNull();
    } finally {
      ctx.dispose();
    }
  });
});
