/**
 * Every kernel descriptor against its WGSL text (the uniform struct's field names, types and offsets; binding
 * names at their indices; override constants; entry points), then compiled on the test adapter, so a descriptor
 * and its shader cannot drift apart silently. Variants whose code says `enable f16;` compile only where the adapter
 * has `shader-f16` (lavapipe, not SwiftShader); their declarations are checked everywhere.
 */
import { describe, expect, it } from 'vitest';
import { KernelCache, requiresShaderF16 } from '../src/gpu/kernel';
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
      // WGSL allows directives only before every declaration: the f16 prelude must open the module.
      if (requiresShaderF16(kernel.code)) expect(withoutComments(kernel.code).trimStart()).toMatch(/^enable f16;/);
    });
  }

  it('lists f16-arithmetic variants (they are what shader-f16 adapters run)', () => {
    expect(kernels.filter((k) => requiresShaderF16(k.code)).map((k) => k.name.split('/')[0])).toEqual(expect.arrayContaining(['vision-linear', 'vision-attention']));
  });

  it('every entry point compiles on the test adapter with default constants (f16 variants where it has shader-f16)', async () => {
    const { device } = await testGpuContext();
    const cache = new KernelCache(device);
    const compiled = kernels.filter((k) => device.features.has('shader-f16') || !requiresShaderF16(k.code));
    device.pushErrorScope('validation');
    for (const kernel of compiled) for (const entryPoint of kernel.entryPoints) cache.pipeline(kernel, { entryPoint });
    const error = await device.popErrorScope();
    expect(error?.message ?? null).toBeNull();
    console.log(`compiled ${compiled.length} of ${kernels.length} descriptors (shader-f16: ${device.features.has('shader-f16')})`);
  });

  it('a kernel that enables f16 is refused with gpu-feature-missing on a device without shader-f16', async () => {
    const { device } = await testGpuContext();
    const f16Kernel = kernels.find((k) => requiresShaderF16(k.code));
    if (!f16Kernel) throw new Error('no f16 kernel registered');
    // The same device, reporting no features: the cache must refuse before compiling.
    const featureless = Object.create(device, { features: { value: new Set<string>() } }) as GPUDevice;
    expect(() => new KernelCache(featureless).pipeline(f16Kernel)).toThrow(expect.objectContaining({ code: 'gpu-feature-missing' }));
  });
});

function withoutComments(code: string): string {
  return code.replace(/\/\/[^\n]*/g, '');
}

/** An override whose default is computed from others (e.g. `override K_STRIDE = HEAD_VEC4S | 1u`) is not a knob. */
function isDerived(code: string, name: string): boolean {
  return new RegExp(`override\\s+${name}\\s*:[^=;]*=\\s*[^;]*[A-Z_]{2,}`).test(code);
}
