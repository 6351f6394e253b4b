/**
 * Bench helper: a GpuContext on the machine's real GPU through Dawn for Node. On the GPU machine Dawn comes
 * from $DAWN_WEBGPU_PACKAGE (set by .gpu/env.sh; installNodeWebGpu reads it), elsewhere from the npm package.
 * `--dawn-flags a,b` passes Dawn toggles, e.g. `allow_unsafe_apis,vulkan_enable_f16_on_nvidia` (shader-f16 and
 * subgroup matrices on NVIDIA/Vulkan).
 */
import { GpuContext } from '../../src/gpu/gpu-context';
import { installNodeWebGpu } from '../../src/gpu/node-webgpu';

export async function benchGpuContext(): Promise<GpuContext> {
  const i = process.argv.indexOf('--dawn-flags');
  const features = i >= 0 ? process.argv[i + 1] : undefined;
  return GpuContext.create({ gpu: await installNodeWebGpu(features ? { dawnFlags: [`enable-dawn-features=${features}`] } : {}) });
}
