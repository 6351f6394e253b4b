/**
 * The engine's decisions about a model, made before anything large is downloaded and never re-derived:
 *
 *   chooseVariant(index, caps, options)     which precision variant of a published model (variants.json) runs
 *                                           fastest on this adapter, and why; its context and memory estimate
 *   planPackage(manifest, caps, options)    the plan of one package: that choice (or, for a plain package URL,
 *                                           the same choice among its one variant), the dtypes it implies, the
 *                                           KV-cache capacity, the vision and decode paths, the prefill chunking
 *
 * Both are pure. Every refusal is a typed SarashinaError with the numbers and what to do (variant-fit.ts).
 */
import type { GpuCapabilities } from '../gpu/gpu-context';
import type { MemoryEstimate, PrecisionVariant } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, type PackageManifest } from '../protocol/manifest';
import { floatBytes, type PrecisionDtypes, precisionDtypes } from '../protocol/precision-dtypes';
import { checkVariantManifest, summarizeManifest, type VariantEntry, type VariantIndex, VARIANT_INDEX_FORMAT_VERSION } from '../protocol/variant-index';
import { decodeStepSupport } from './decode-step';
import { type MemoryBudget, memoryBudget } from './memory-estimate';
import { prefillChunkTokens } from './prefill-chunking';
import { fitVariant } from './variant-fit';
import type { DecodePath, VisionPath } from './vision-language-model';

export { MIN_CONTEXT_TOKENS } from './variant-fit';

export interface VariantOptions {
  /** EngineOptions.precision: a variant the caller insists on. */
  readonly precision?: PrecisionVariant;
  /** EngineOptions.contextTokens. */
  readonly contextTokens?: number;
  /** EngineOptions.memoryBudgetBytes. */
  readonly memoryBudgetBytes?: number;
  /** navigator.deviceMemory where the browser reports it (the default budget reads it). */
  readonly deviceMemoryGiB?: number | null;
  /** EngineOptions.maxPixels: the pixel budget the vision activations are estimated at. */
  readonly maxPixels?: number;
}

export interface PackagePlanOptions extends VariantOptions {
  /** Default 'kernels'. */
  readonly visionPath?: VisionPath;
  /** Default 'kernels'; packages our decode kernels do not cover fall back to 'ort-baseline' (decodePathReason says why). */
  readonly decodePath?: DecodePath;
  /** The variant chooseVariant picked from the model's index, whose manifest this is. */
  readonly variant?: VariantChoice;
}

export type PlanCapabilities = Pick<
  GpuCapabilities,
  'shaderF16' | 'maxBufferSize' | 'maxStorageBufferBindingSize' | 'subgroupMinSize' | 'isFallbackAdapter'
>;

/** A variant of a model chosen for an adapter. */
export interface VariantChoice {
  readonly index: VariantIndex;
  readonly entry: VariantEntry;
  readonly precision: PrecisionVariant;
  /** Why this variant (engine.info.precisionReason). */
  readonly reason: string;
  /** KV-cache capacity in tokens. */
  readonly contextTokens: number;
  readonly memoryEstimate: MemoryEstimate;
  readonly memoryBudget: MemoryBudget;
}

export interface PackagePlan {
  readonly manifest: PackageManifest;
  readonly precision: PrecisionVariant;
  /** Why this variant (engine.info.precisionReason). */
  readonly precisionReason: string;
  readonly dtypes: PrecisionDtypes;
  /** KV-cache capacity in tokens. */
  readonly contextTokens: number;
  /** Bytes of one K or V element. */
  readonly kvElementBytes: number;
  /** GPU memory at contextTokens, and the budget it was planned within. */
  readonly memoryEstimate: MemoryEstimate;
  readonly memoryBudget: MemoryBudget;
  readonly visionPath: VisionPath;
  readonly decodePath: DecodePath;
  /** Why the decode path is not the requested one, or null. */
  readonly decodePathReason: string | null;
  /** Prompt tokens per decoder-graph run (prefillChunkTokens of the adapter, at most the context). */
  readonly prefillChunkTokens: number;
}

/** Fastest first: int4 with f16 activations and KV, then int4 with f32, then the unquantized parity variant. */
const SPEED_ORDER: readonly PrecisionVariant[] = ['q4f16', 'q4f32', 'fp32'];

/**
 * The fastest variant of `index` that runs on `caps` within the memory budget (or the forced `options.precision`),
 * with its context and memory estimate. Throws before any download: invalid-request (a context beyond the model's
 * max_position_embeddings, a budget that is not a positive integer, a forced variant the index lacks), and the
 * preflight's gpu-feature-missing / gpu-limits-too-low / out-of-memory for a forced variant, for a model with one
 * variant, or (naming every variant's reason) when none fits.
 */
export function chooseVariant(index: VariantIndex, caps: PlanCapabilities, options: VariantOptions = {}): VariantChoice {
  const maxPos = index.model.text.maxPositionEmbeddings;
  const requested = options.contextTokens;
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1 || requested > maxPos)) {
    throw new SarashinaError(
      'invalid-request',
      `contextTokens ${requested} must be an integer in [1, ${maxPos}] (the model's max_position_embeddings). Lower contextTokens.`,
      { contextTokens: String(requested), maxPositionEmbeddings: maxPos },
    );
  }
  const budget = memoryBudget(options);
  const fitOptions = { budget, ...(requested === undefined ? {} : { contextTokens: requested }), ...(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels }) };
  const offered = index.variants.map((v) => v.precision);
  const choice = (entry: VariantEntry, reason: string): VariantChoice => {
    const fit = fitVariant(index, entry, caps, fitOptions);
    if (!fit.ok) throw fit.error;
    return { index, entry, precision: entry.precision, reason, contextTokens: fit.contextTokens, memoryEstimate: fit.memoryEstimate, memoryBudget: budget };
  };
  if (options.precision !== undefined) {
    const entry = index.variants.find((v) => v.precision === options.precision);
    if (!entry) {
      throw new SarashinaError(
        'invalid-request',
        `The model has no ${options.precision} variant (it has ${offered.join(', ')}). Pick one of those, or export ${options.precision}.`,
        { preferred: options.precision, available: offered },
      );
    }
    return choice(entry, `${entry.precision}: requested`);
  }
  const candidates = SPEED_ORDER.flatMap((p) => index.variants.filter((v) => v.precision === p));
  const only = candidates.length === 1 ? candidates[0] : undefined;
  if (only) return choice(only, `${only.precision}: the only variant of this model`);
  const skipped: { precision: PrecisionVariant; short: string; error: SarashinaError }[] = [];
  for (const entry of candidates) {
    const fit = fitVariant(index, entry, caps, fitOptions);
    if (!fit.ok) {
      skipped.push({ precision: entry.precision, short: fit.short, error: fit.error });
      continue;
    }
    const reason = skipped.length > 0 ? `${entry.precision}: ${skipped.map((s) => s.short).join('; ')}` : `${entry.precision}: the fastest of the offered variants (${offered.join(', ')})`;
    return { index, entry, precision: entry.precision, reason, contextTokens: fit.contextTokens, memoryEstimate: fit.memoryEstimate, memoryBudget: budget };
  }
  const last = skipped.at(-1);
  if (!last) throw new SarashinaError('invalid-model', 'The model offers no variant. Re-export it.', {});
  throw new SarashinaError(last.error.code, `No variant of this model runs here: ${skipped.map((s) => s.error.message).join(' | ')}`, {
    ...last.error.details,
    variants: skipped.map((s) => s.precision),
    reasons: skipped.map((s) => s.short),
  });
}

/**
 * Head sizes the runtimes take, checked before anything is downloaded: onnxruntime-web 1.30's GroupQueryAttention
 * (every decoder graph's prefill, with its rotary) refused 18 ("head_size must be a multiple of 8") and 24 ("shall be
 * a multiple of 16") on lavapipe (2026-12-02); our vision attention tiles heads in vec4 halves (vision-attention.ts).
 */
const TEXT_HEAD_MULTIPLE = 16;
const VISION_HEAD_MULTIPLE = 8;

function checkHeadSizes(manifest: PackageManifest): void {
  const { text, vision } = manifest.model;
  if (text.headDim % TEXT_HEAD_MULTIPLE !== 0) {
    throw new SarashinaError(
      'invalid-model',
      `The decoder's head size is ${text.headDim} (hidden ${text.hiddenSize} / ${text.numHeads} heads); onnxruntime-web's GroupQueryAttention, which prefills every package, needs a multiple of ${TEXT_HEAD_MULTIPLE}. This model cannot run in this engine.`,
      { headDim: text.headDim, multiple: TEXT_HEAD_MULTIPLE },
    );
  }
  const visionHead = vision.embedDim / vision.numHeads;
  if (visionHead % VISION_HEAD_MULTIPLE !== 0) {
    throw new SarashinaError(
      'invalid-model',
      `The vision tower's head size is ${visionHead} (embed_dim ${vision.embedDim} / ${vision.numHeads} heads); the vision attention kernel needs a multiple of ${VISION_HEAD_MULTIPLE}. This model cannot run in this engine.`,
      { headDim: visionHead, multiple: VISION_HEAD_MULTIPLE },
    );
  }
}

/**
 * The plan for `manifest` on an adapter with `caps`. With `options.variant` (chosen from the model's index) the
 * manifest must be the package that choice describes ('invalid-model' otherwise, checkVariantManifest); without,
 * the package is a model of one variant and chooseVariant's checks and errors apply to it.
 */
export function planPackage(manifest: PackageManifest, caps: PlanCapabilities, options: PackagePlanOptions = {}): PackagePlan {
  checkHeadSizes(manifest);
  const chosen = options.variant;
  if (chosen) checkVariantManifest(chosen.index, chosen.entry, manifest);
  const choice = chosen ?? chooseVariant(singlePackageIndex(manifest), caps, options);
  const dtypes = precisionDtypes(choice.precision);
  const requestedDecode = options.decodePath ?? 'kernels';
  const unsupported = requestedDecode === 'kernels' ? decodeStepSupport(manifest) : null;
  return {
    manifest,
    precision: choice.precision,
    precisionReason: choice.reason,
    dtypes,
    contextTokens: choice.contextTokens,
    kvElementBytes: floatBytes(dtypes.kvCache),
    memoryEstimate: choice.memoryEstimate,
    memoryBudget: choice.memoryBudget,
    visionPath: options.visionPath ?? 'kernels',
    decodePath: unsupported === null ? requestedDecode : 'ort-baseline',
    decodePathReason: unsupported,
    prefillChunkTokens: Math.min(prefillChunkTokens(caps), choice.contextTokens),
  };
}

/** A plain package as the index of a model with one variant (its folder is the package itself). */
export function singlePackageIndex(manifest: PackageManifest): VariantIndex {
  const entry: VariantEntry = { ...summarizeManifest(manifest), path: '.', manifest: { path: MANIFEST_FILE_NAME, sizeBytes: 0, sha256: '' } };
  return { formatVersion: VARIANT_INDEX_FORMAT_VERSION, model: manifest.model, imageProcessor: manifest.imageProcessor, variants: [entry] };
}
