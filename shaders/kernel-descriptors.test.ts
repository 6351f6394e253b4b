/**
 * Every kernel descriptor against its WGSL text (the uniform struct's field names, types and offsets; binding
 * names at their indices; override constants; entry points), then compiled on the test adapter, so a descriptor
 * and its shader cannot drift apart silently.
 */
import { describe, expect, it } from 'vitest';
import { KernelCache } from '../src/gpu/kernel';
import { testGpuContext } from '../src/testing/node-gpu';
import { wgslDeclarations } from '../src/testing/wgsl-declarations';
import { allKernels } from './kernel-registry';

const kernels = allKernels();

describe('kernel descriptors match their WGSL', () => {
  it('lists at least one kernel per role', () => {
    expect(new Set(kernels.map((k) => k.name.split('/')[0])).size).toBeGreaterThan(8);
  });

  for (const kernel of kernels) {
    it(`${kernel.name}: params struct, bindings, overrides and entry points`, () => {
      const wgsl = wgslDeclarations(kernel.code);
      let first = 0;
      if (kernel.params) {
        first = 1;
        expect(wgsl.bindings.get(0)).toEqual(['params']);
        const fields = wgsl.structs.get(kernel.params.wgslName);
        expect(fields, `struct ${kernel.params.wgslName}`).toBeDefined();
        const declared = kernel.params.layout.map((f) => ({ name: f.name, type: f.type, offsetBytes: f.offsetBytes }));
        // Padding fields (`_pad…`) exist only in WGSL; every other field is mirrored, in order, at the same offset.
        expect(declared).toEqual((fields ?? []).filter((f) => !f.name.startsWith('_')));
        const size = Math.max(...(fields ?? []).map((f) => f.offsetBytes + 4));
        expect(kernel.params.sizeBytes).toBeGreaterThanOrEqual(size);
      }
      kernel.bindings.forEach((name, i) => expect(wgsl.bindings.get(first + i), `@binding(${first + i})`).toContain(name));
      expect([...wgsl.bindings.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: first + kernel.bindings.length }, (_, i) => i));
      expect([...kernel.constants].sort()).toEqual([...wgsl.overrides].filter((o) => kernel.constants.includes(o) || !isDerived(kernel.code, o)).sort());
      expect([...kernel.entryPoints].sort()).toEqual([...wgsl.entryPoints].sort());
    });
  }

  it('every entry point compiles on the test adapter with default constants', async () => {
    const { device } = await testGpuContext();
    const cache = new KernelCache(device);
    device.pushErrorScope('validation');
    for (const kernel of kernels) for (const entryPoint of kernel.entryPoints) cache.pipeline(kernel, { entryPoint });
    const error = await device.popErrorScope();
    expect(error?.message ?? null).toBeNull();
  });
});

/** An override whose default is computed from others (e.g. `override K_STRIDE = HEAD_VEC4S | 1u`) is not a knob. */
function isDerived(code: string, name: string): boolean {
  return new RegExp(`override\\s+${name}\\s*:[^=;]*=\\s*[^;]*[A-Z_]{2,}`).test(code);
}
