/**
 * createEngine: one GPU context, the model opened through the platform (browser: downloaded into OPFS;
 * Node: a local directory), its variant chosen and planned for the adapter before the download, the model loaded, and the engine
 * that runs chat requests on it. Node-only code is reached only through `platform` (createNodeEngine), so
 * browser bundles never pull in node: modules.
 */
import { Generator } from '../generate/generator';
import { GpuSampler } from '../../shaders/sampler/gpu-sampler';
import { type GpuAdapterChoice, GpuContext } from '../gpu/gpu-context';
import { KernelCache } from '../gpu/kernel';
import type { PackageSource } from '../protocol/package-source';
import { chooseVariant, type PackagePlan, type PlanCapabilities, planPackage, type VariantChoice, type VariantOptions } from '../model/package-plan';
import type { PackageChooser } from '../loader/open-model';
import { planBufferLimits } from '../model/device-limits';
import { visionMaxPixels } from '../model/vision-encoder';
import { SarashinaModel } from '../model/sarashina-model';
import type { VisionLanguageModel } from '../model/vision-language-model';
import type { EngineOptions } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { PackageManifest } from '../protocol/manifest';
import { TextProcessor } from '../processor/text/text-processor';
import { browserPlatform } from './browser-platform';
import type { EnginePlatform, ModelLoader } from './engine-platform';
import { LocalEngine } from './local-engine';

export interface CreateEngineOptions extends EngineOptions {
  /** Default: the browser (fetch + OPFS, createImageBitmap). */
  readonly platform?: EnginePlatform;
  /** The WebGPU entry point to request the adapter from (default: the platform's, i.e. `navigator.gpu` or Dawn). */
  readonly gpu?: GPU;
  /** A GPU context to share (then dispose() leaves its device alone). */
  readonly context?: GpuContext;
  /** The model runtime (default: SarashinaModel.load with its default vision and decode paths). */
  readonly loadModel?: ModelLoader;
}

/**
 * Creates an engine for the model at `options.model` (a package, or variants.json and its variants). Throws
 * `SarashinaError`, the preflight's before any download: webgpu-unavailable, gpu-feature-missing (e.g. a forced
 * q4f16 without shader-f16), gpu-limits-too-low, out-of-memory (the estimate over the budget), invalid-request;
 * then invalid-model, integrity-mismatch, download errors, aborted.
 */
export async function createEngine(options: CreateEngineOptions): Promise<LocalEngine> {
  const platform = options.platform ?? browserPlatform();
  const { signal } = options;
  checkAborted(signal);
  // The GPU first: a browser without WebGPU, or without what the package needs, should learn it before a download.
  // The adapter plans the model; its device is requested once the plan says which buffer limits it needs.
  const ownsContext = options.context === undefined;
  const adapter = options.context ? null : await requestAdapter(options, platform);
  let context: GpuContext | null = options.context ?? null;
  let model: VisionLanguageModel | null = null;
  try {
    // The variant and the plan are made from the index and the manifest before the download: a model this GPU
    // cannot run costs nothing.
    const caps = options.context?.capabilities ?? (adapter as GpuAdapterChoice).capabilities;
    const planner = packagePlanner(caps, options);
    const { manifest, source } = await platform.openSource(options, planner.chooser);
    const plan = planner.plan();
    checkAborted(signal);
    if (!plan) throw new SarashinaError('internal', 'The platform opened the package without checking its manifest.');
    context ??= await GpuContext.create({ adapter: adapter as GpuAdapterChoice, bufferLimits: planBufferLimits(plan, caps) });
    const text = await loadTextProcessor(source, manifest);
    checkAborted(signal);
    const loadModel = options.loadModel ?? loadSarashinaModel;
    model = await loadModel(context, source, plan, {
      ...(signal === undefined ? {} : { signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    const { device } = context;
    const sampler = new GpuSampler(device, new KernelCache(device), { vocab: manifest.model.text.vocabSize, maxPreviousIds: model.contextTokens });
    const generator = new Generator({ model, text, sampler, device, imageSpec: manifest.imageProcessor });
    // The ORT-only vision baseline has its own patch limit (VisionEncoder refuses past it); our tower's is the binding.
    const pixelLimit = plan.visionPath === 'kernels' ? visionMaxPixels(manifest.model.vision, context.capabilities.maxStorageBufferBindingSize) : Infinity;
    const maxPixels = Math.min(options.maxPixels ?? manifest.imageProcessor.maxPixels, pixelLimit);
    return new LocalEngine({
      info: {
        modelId: source.id,
        precision: plan.precision,
        contextTokens: model.contextTokens,
        adapter: [caps.vendor, caps.architecture, caps.description].filter(Boolean).join(' / ') || 'unknown adapter',
        precisionReason: plan.precisionReason,
        memoryEstimate: plan.memoryEstimate,
        memoryBudgetBytes: plan.memoryBudget.bytes,
        memoryBudgetReason: plan.memoryBudget.reason,
        maxPixels,
      },
      context,
      ownsContext,
      model,
      generator,
      decodeImage: platform.decodeImage,
      maxPixels,
      ...(Number.isFinite(pixelLimit) ? { maxPixelsLimit: pixelLimit } : {}),
    });
  } catch (e) {
    await model?.dispose();
    if (ownsContext) context?.dispose();
    throw e;
  }
}

/**
 * The engine's PackageChooser for an adapter with `caps` (the variant, then the plan of the chosen manifest) and the
 * plan it made: what createEngine hands the platform, so a model this GPU cannot run costs nothing.
 */
export function packagePlanner(caps: PlanCapabilities, options: EngineOptions): { readonly chooser: PackageChooser; plan(): PackagePlan | undefined } {
  const planOptions: VariantOptions = {
    ...(options.precision === undefined ? {} : { precision: options.precision }),
    ...(options.contextTokens === undefined ? {} : { contextTokens: options.contextTokens }),
    ...(options.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: options.memoryBudgetBytes }),
    ...(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels }),
    deviceMemoryGiB: deviceMemoryGiB(),
  };
  let variant: VariantChoice | undefined;
  let estimatedReason: string | undefined;
  let plan: PackagePlan | undefined;
  return {
    chooser: {
      chooseVariant: (index, estimated) => {
        const choice = chooseVariant(index, caps, planOptions);
        // A checkpoint's estimated variants: the converted package is planned on its own, with this choice's reason.
        if (estimated) estimatedReason = `${choice.reason} (converted from the original checkpoint)`;
        else variant = choice;
        return choice.entry;
      },
      checkManifest: (m) => {
        const planned = planPackage(m, caps, { ...planOptions, ...(variant ? { variant } : {}) });
        plan = estimatedReason === undefined ? planned : { ...planned, precisionReason: estimatedReason };
      },
    },
    plan: () => plan,
  };
}

/** An adapter of `options.gpu`, else of the platform's WebGPU (Dawn in Node), else of navigator.gpu. */
async function requestAdapter(options: CreateEngineOptions, platform: EnginePlatform): Promise<GpuAdapterChoice> {
  const gpu = options.gpu ?? (platform.gpu ? await platform.gpu() : undefined);
  return GpuContext.requestAdapter(gpu ? { gpu } : {});
}

const loadSarashinaModel: ModelLoader = (context, source, plan, options) => SarashinaModel.load(context, source, plan, options);

async function loadTextProcessor(source: PackageSource, manifest: PackageManifest): Promise<TextProcessor> {
  const json = async (path: string): Promise<unknown> => {
    const bytes = await source.readBytes(path);
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    } catch (cause) {
      throw new SarashinaError('invalid-model', `${source.id}/${path} is not valid JSON. Re-export the package.`, { path }, { cause });
    }
  };
  const files = manifest.tokenizer;
  return TextProcessor.fromFiles({
    tokenizerJson: await json(files.tokenizer.path),
    tokenizerConfig: await json(files.tokenizerConfig.path),
    ...(files.chatTemplate ? { chatTemplate: await json(files.chatTemplate.path) } : {}),
    specialTokens: manifest.model.tokens,
  });
}

/** navigator.deviceMemory (GiB of RAM, Chromium in secure contexts), or null where it is not reported (Node, Firefox, Safari). */
function deviceMemoryGiB(): number | null {
  const value = (globalThis.navigator as (Navigator & { deviceMemory?: unknown }) | undefined)?.deviceMemory;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SarashinaError('aborted', 'Loading the engine was aborted (the signal passed to createEngine fired). Call createEngine again to retry.', {});
}
