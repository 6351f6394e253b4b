/**
 * The one place that talks to onnxruntime-web. Always the native WebGPU EP build
 * (`onnxruntime-web/webgpu`): the default import is the old JSEP backend, which ignores a device we pass.
 */
import type * as Ort from 'onnxruntime-web/webgpu';
import type { GpuContext } from '../gpu/gpu-context';
import { SarashinaError } from '../protocol/errors';

export type OrtModule = typeof Ort;
export type OrtTensor = Ort.Tensor;
export type OrtSession = Ort.InferenceSession;

let ortModule: Promise<OrtModule> | undefined;
let wasmFileUrl: string | undefined;

/**
 * Where onnxruntime-web's wasm is, when not next to its module (the published worker bundled into an app, which
 * renamed the file). ORT's own setting is global to the realm, so this is too; it must precede the first loadOrt.
 */
export function useOrtWasmFile(url: string): void {
  if (ortModule) throw new SarashinaError('internal', 'useOrtWasmFile must be called before onnxruntime-web is loaded.', { url });
  wasmFileUrl = url;
}

/** Loads onnxruntime-web once. In Node and workers without threads it runs single-threaded wasm. */
export function loadOrt(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-web/webgpu').then((ort) => {
    const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
    ort.env.wasm.numThreads = isolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    if (wasmFileUrl) ort.env.wasm.wasmPaths = { wasm: wasmFileUrl };
    return ort;
  });
  return ortModule;
}

export interface SessionOptions {
  /** Where outputs land; 'gpu-buffer' keeps them on our device. */
  readonly outputLocation?: 'gpu-buffer' | 'cpu';
  /** Fail rather than let any node fall back to the CPU EP. */
  readonly strictGpu?: boolean;
  readonly graphCapture?: boolean;
}

/** Creates an InferenceSession on the WebGPU EP with our device. */
export async function createSession(ctx: GpuContext, model: Uint8Array, options: SessionOptions = {}): Promise<OrtSession> {
  const ort = await loadOrt();
  try {
    return await ort.InferenceSession.create(model, {
      // The EP must be an object carrying our device: as a bare string ORT makes its own device.
      executionProviders: [{ name: 'webgpu', device: ctx.device } as Ort.InferenceSession.WebGpuExecutionProviderOption],
      preferredOutputLocation: options.outputLocation ?? 'gpu-buffer',
      enableGraphCapture: options.graphCapture ?? false,
      graphOptimizationLevel: 'all',
      ...(options.strictGpu !== false ? { extra: { session: { disable_cpu_ep_fallback: '1' } } } : {}),
    });
  } catch (cause) {
    throw new SarashinaError('internal', `onnxruntime-web could not create a WebGPU session: ${String(cause)}`, {}, { cause });
  }
}

type GpuDataType = Parameters<OrtModule['Tensor']['fromGpuBuffer']>[1]['dataType'];

/** Wraps one of our GPU buffers as an ORT tensor (no copy). The buffer must have ORT_USAGE. */
export function gpuTensor(ort: OrtModule, buffer: GPUBuffer, dataType: GpuDataType, dims: readonly number[]): OrtTensor {
  return ort.Tensor.fromGpuBuffer(buffer, { dataType, dims });
}
