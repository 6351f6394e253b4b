/**
 * Every kernel the engine can dispatch, in each variant whose WGSL text differs (storage preludes, tilings):
 * the descriptor test checks each against its WGSL and compiles it.
 */
import type { KernelDescriptor, UniformFields } from '../src/gpu/kernel';
import { DECODE_ATTENTION, KV_DTYPES } from './decoder/decode-attention/decode-attention';
import { EMBEDDING_GATHER } from './decoder/embedding-gather/embedding-gather';
import { F32_GEMV } from './decoder/f32-gemv/f32-gemv';
import { INT4_GEMV, INT4_SCALE_DTYPES } from './decoder/int4-gemv/int4-gemv';
import { RMS_NORM } from './decoder/rms-norm/rms-norm';
import { FILL_RAMP, SCALE_SHIFT } from './interop/interop-kernels';
import { SAMPLE_PENALTY, SAMPLE_TOKEN } from './sampler/gpu-sampler';
import { visionAttentionKernel } from './vision/attention/vision-attention';
import { visionLayerNormKernel } from './vision/layer-norm/vision-layer-norm';
import { VISION_LINEAR_CHOICES, VISION_STORAGES, visionLinearKernel } from './vision/linear/vision-linear';

export function allKernels(): KernelDescriptor<UniformFields, string>[] {
  const kernels: KernelDescriptor<UniformFields, string>[] = [
    ...INT4_SCALE_DTYPES.map((dtype) => INT4_GEMV[dtype]),
    SAMPLE_TOKEN,
    SAMPLE_PENALTY,
    FILL_RAMP,
    SCALE_SHIFT,
    ...VISION_STORAGES.flatMap((storage) => VISION_LINEAR_CHOICES.map((tiling) => visionLinearKernel(storage, tiling))),
    ...VISION_STORAGES.map(visionLayerNormKernel),
    ...VISION_STORAGES.map(visionAttentionKernel),
    F32_GEMV,
    RMS_NORM,
    ...KV_DTYPES.map((dtype) => DECODE_ATTENTION[dtype]),
    EMBEDDING_GATHER,
    // (each kernel role adds its descriptors here)
  ];
  return kernels;
}
