/**
 * Bench helper: a GpuContext on the machine's real GPU through Dawn for Node. On the GPU machine Dawn comes
 * from $DAWN_WEBGPU_PACKAGE (set by .gpu/env.sh; installNodeWebGpu reads it), elsewhere from the npm package.
 * `--dawn-flags a,b` passes Dawn toggles, e.g. `allow_unsafe_apis,vulkan_enable_f16_on_nvidia` (shader-f16 and
 * subgroup matrices on NVIDIA/Vulkan). `--max-binding-mib N` requests the device with N MiB per storage binding (and
 * buffers of max(256 MiB, N)) instead of the adapter's maxima: e.g. 128, WebGPU's default, to run a package as an
 * adapter that grants only that would (weights over it must be stored as row parts).
 */
import { GpuContext } from '../../src/gpu/gpu-context';
import { installNodeWebGpu } from '../../src/gpu/node-webgpu';

export async function benchGpuContext(): Promise<GpuContext> {
  const i = process.argv.indexOf('--dawn-flags');
  const features = i >= 0 ? process.argv[i + 1] : undefined;
  const b = process.argv.indexOf('--max-binding-mib');
  const bindingBytes = b >= 0 ? Number(process.argv[b + 1]) * 2 ** 20 : undefined;
  if (bindingBytes !== undefined && !(Number.isInteger(bindingBytes) && bindingBytes > 0)) throw new Error(`--max-binding-mib must be a whole number of MiB, got ${process.argv[b + 1]}`);
  return GpuContext.create({
    gpu: await installNodeWebGpu(features ? { dawnFlags: [`enable-dawn-features=${features}`] } : {}),
    ...(bindingBytes === undefined ? {} : { bufferLimits: { maxStorageBufferBindingSize: bindingBytes, maxBufferSize: Math.max(2 ** 28, bindingBytes) } }),
  });
}
