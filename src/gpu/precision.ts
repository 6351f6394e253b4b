/**
 * Which precision variant of a package runs on this adapter: one pure function of the adapter's
 * capabilities, the variants the package offers and the user's preference.
 * q4f16 needs `shader-f16` (absent on SwiftShader and on NVIDIA under Vulkan); q4f32 and fp32 run anywhere.
 */
import type { PrecisionVariant } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { GpuCapabilities } from './gpu-context';

export interface PrecisionChoice {
  readonly precision: PrecisionVariant;
  readonly reason: string;
}

/** Fastest first: int4 with f16 activations, then int4 with f32, then the unquantized parity variant. */
const ORDER: readonly PrecisionVariant[] = ['q4f16', 'q4f32', 'fp32'];

export function choosePrecision(
  caps: Pick<GpuCapabilities, 'shaderF16'>,
  available: readonly PrecisionVariant[],
  preferred?: PrecisionVariant,
): PrecisionChoice {
  const runnable = (p: PrecisionVariant): boolean => p !== 'q4f16' || caps.shaderF16;
  if (preferred) {
    if (!available.includes(preferred)) {
      throw new SarashinaError(
        'invalid-request',
        `The model package has no ${preferred} variant (it has ${available.join(', ') || 'none'}). Pick one of those, or export ${preferred}.`,
        { preferred, available: [...available] },
      );
    }
    if (!runnable(preferred)) {
      throw new SarashinaError(
        'gpu-feature-missing',
        `${preferred} needs the WebGPU feature shader-f16, which this GPU/browser does not offer. Use q4f32 (same int4 weights, f32 activations).`,
        { preferred, feature: 'shader-f16' },
      );
    }
    return { precision: preferred, reason: `${preferred}: requested` };
  }
  for (const p of ORDER) {
    if (available.includes(p) && runnable(p)) {
      const skippedF16 = p !== 'q4f16' && available.includes('q4f16') && !caps.shaderF16;
      return { precision: p, reason: skippedF16 ? `${p}: the adapter has no shader-f16, so not q4f16` : `${p}: the fastest variant in the package` };
    }
  }
  throw new SarashinaError(
    'gpu-feature-missing',
    `No variant of this model package runs here: it has ${available.join(', ') || 'none'}, and q4f16 needs shader-f16. Export a q4f32 package.`,
    { available: [...available] },
  );
}
