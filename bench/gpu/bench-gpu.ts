/**
 * Bench helper: a GpuContext on the machine's real GPU through Dawn for Node. On the GPU machine Dawn comes
 * from $DAWN_WEBGPU_PACKAGE (set by .gpu/env.sh; installNodeWebGpu reads it), elsewhere from the npm package.
 */
import { GpuContext } from '../../src/gpu/gpu-context';
import { installNodeWebGpu } from '../../src/gpu/node-webgpu';

export async function benchGpuContext(): Promise<GpuContext> {
  return GpuContext.create({ gpu: await installNodeWebGpu() });
}
