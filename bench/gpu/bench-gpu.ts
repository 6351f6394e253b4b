/**
 * Bench helper: a GpuContext on the machine's real GPU. On the GPU machine Dawn comes from
 * $DAWN_WEBGPU_PACKAGE (set by .gpu/env.sh); elsewhere from the npm package via installNodeWebGpu().
 */
import { GpuContext } from '../../src/gpu/gpu-context';
import { installNodeWebGpu } from '../../src/gpu/node-webgpu';

interface DawnPackage {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

export async function benchGpuContext(): Promise<GpuContext> {
  const pkg = process.env.DAWN_WEBGPU_PACKAGE;
  if (pkg) {
    const dawn = (await import(/* @vite-ignore */ `${pkg}/index.js`)) as DawnPackage;
    Object.assign(globalThis, dawn.globals);
    // Keep the GPU object reachable: if it is garbage-collected, Dawn stops processing events and
    // promises such as onSubmittedWorkDone() never settle (the recipe in ../shared/gpu/README.md does the same).
    const gpu = dawn.create([]);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    return GpuContext.create({ gpu });
  }
  return GpuContext.create({ gpu: await installNodeWebGpu() });
}
