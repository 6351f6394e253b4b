/** Test helper: one shared GpuContext per test file, on Dawn (SwiftShader when there is no GPU). */
import { GpuContext } from '../gpu/gpu-context';
import { installNodeWebGpu } from '../gpu/node-webgpu';

let context: Promise<GpuContext> | undefined;

export function testGpuContext(): Promise<GpuContext> {
  context ??= installNodeWebGpu().then((gpu) => GpuContext.create({ gpu }));
  return context;
}
