/**
 * WebGPU in Node.js through Dawn (the npm package `webgpu`). Used by the CLI, the Node tests and the
 * GPU-machine benchmarks; browser code never imports this file.
 *
 * On a machine without a GPU it falls back to SwiftShader's Vulkan driver, which Debian's `chromium`
 * package ships, so tests run on real WebGPU everywhere. Mesa's lavapipe (a second CPU driver, with
 * shader-f16 and subgroups of 8) is chosen by name: the tests run on both (ARCHITECTURE.md, "Testing").
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SarashinaError } from '../protocol/errors';

/** SwiftShader's Vulkan driver manifest, from Debian's `chromium` package. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** lavapipe's Vulkan driver manifest, from Debian's `mesa-vulkan-drivers` (Mesa ≥ 25: bookworm-backports). */
export const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';

/** Where Dawn's Vulkan adapter comes from. */
export type NodeWebGpuBackend = 'auto' | 'swiftshader' | 'lavapipe' | 'system';

export interface NodeWebGpuOptions {
  /**
   * 'auto' (default): $VK_ICD_FILENAMES if set, else the system's Vulkan driver, else SwiftShader.
   * 'swiftshader' / 'lavapipe': always that CPU driver. 'system': whatever the Vulkan loader finds.
   */
  readonly backend?: NodeWebGpuBackend;
  /** Dawn toggles, e.g. `enable-dawn-features=allow_unsafe_apis`. */
  readonly dawnFlags?: readonly string[];
  /**
   * Directory of a `webgpu` package to load instead of the installed npm dependency (default:
   * $DAWN_WEBGPU_PACKAGE if set): the GPU machine runs bundled scripts with no node_modules (../shared/gpu).
   */
  readonly dawnPackage?: string;
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let installed: Promise<GPU> | undefined;

/**
 * Returns a `GPU` (what `navigator.gpu` is in a browser) backed by Dawn, installs the WebGPU globals
 * (`GPUBufferUsage`, …) and `navigator.gpu` so onnxruntime-web finds them, and patches
 * `GPUQueue.writeBuffer` (Dawn rejects views onto wasm memory that onnxruntime-web passes).
 * Idempotent: later calls return the first `GPU`, whatever their options.
 * Throws `webgpu-unavailable` with what to install when no adapter can be found.
 */
export function installNodeWebGpu(options: NodeWebGpuOptions = {}): Promise<GPU> {
  installed ??= install(options).catch((e: unknown) => {
    installed = undefined;
    throw e;
  });
  return installed;
}

async function install(options: NodeWebGpuOptions): Promise<GPU> {
  const backend = options.backend ?? 'auto';
  const flags = [...(options.dawnFlags ?? [])];
  const pkg = options.dawnPackage ?? process.env.DAWN_WEBGPU_PACKAGE;
  let dawn: DawnModule;
  try {
    dawn = (pkg ? await import(/* @vite-ignore */ pathToFileURL(join(pkg, 'index.js')).href) : await import('webgpu')) as unknown as DawnModule;
  } catch (cause) {
    throw new SarashinaError(
      'webgpu-unavailable',
      `The npm package \`webgpu\` (Dawn for Node) could not be loaded${pkg ? ` from ${pkg}` : ''}. Run \`npm ci\` in the project, on linux-x64, darwin or win32.`,
      { dawnPackage: pkg ?? null },
      { cause },
    );
  }
  Object.assign(globalThis, dawn.globals);
  patchWriteBuffer();

  const hasDriverEnv = Boolean(process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES);
  if (backend === 'lavapipe') {
    if (!existsSync(LAVAPIPE_ICD)) {
      throw new SarashinaError(
        'webgpu-unavailable',
        `The lavapipe backend was asked for but Mesa's lavapipe Vulkan driver is missing (${LAVAPIPE_ICD}). ` +
          'Install the package `mesa-vulkan-drivers`, Mesa 25 or newer (Debian bookworm: from bookworm-backports, ' +
          '`apt-get install -y -t bookworm-backports mesa-vulkan-drivers`; `node scripts/ensure-test-deps.mjs` does it as root).',
        { icd: LAVAPIPE_ICD },
      );
    }
    process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
  } else if (backend === 'swiftshader' || (backend === 'auto' && !hasDriverEnv && !(await hasAdapter(dawn.create(flags))))) {
    if (!existsSync(SWIFTSHADER_ICD)) {
      throw new SarashinaError(
        'webgpu-unavailable',
        `No WebGPU adapter was found and SwiftShader's Vulkan driver is missing (${SWIFTSHADER_ICD}). ` +
          'Install a GPU driver with Vulkan support, or for a CPU-only machine: `apt-get install -y chromium libvulkan1` (Debian/Ubuntu).',
        { icd: SWIFTSHADER_ICD },
      );
    }
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const gpu = dawn.create(flags);
  if (!(await hasAdapter(gpu))) {
    throw new SarashinaError(
      'webgpu-unavailable',
      `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}). ` +
        'Check that the Vulkan loader is installed (`apt-get install -y libvulkan1`) and that the driver file exists' +
          (backend === 'lavapipe' ? '; lavapipe needs Mesa 25 or newer (`mesa-vulkan-drivers` from bookworm-backports on Debian 12).' : '.'),
      { icd: process.env.VK_ICD_FILENAMES ?? null, backend },
    );
  }
  if ((await gpu.requestAdapter())?.info.isFallbackAdapter) paceDawnPolling();
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

async function hasAdapter(gpu: GPU): Promise<boolean> {
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

let pollingPaced = false;

/**
 * On a CPU adapter (SwiftShader, lavapipe: `isFallbackAdapter`), polls Dawn's events once a millisecond instead of
 * continuously. While any promise of Dawn's is pending (mapAsync, onSubmittedWorkDone, popErrorScope, and
 * createComputePipelineAsync, which onnxruntime-web's WebGPU EP compiles with), dawn.node calls
 * `wgpuInstanceProcessEvents` again from `setImmediate`, a busy loop on the JavaScript thread; on a CPU adapter the
 * GPU work and the shader compiles run on the same cores, so the loop took a core from them (a readback probe on SwiftShader: 30 % less
 * CPU, half the wall time on a loaded 2-core machine). The poll callback is dawn.node's: a native function without
 * a name, passed to the global `setImmediate` (looked up at each call); every other caller keeps `setImmediate`.
 * A GPU adapter keeps Dawn's own polling: there the loop costs no GPU time and a millisecond per wait would.
 */
function paceDawnPolling(): void {
  if (pollingPaced) return;
  pollingPaced = true;
  const immediate = globalThis.setImmediate;
  const paced = (callback: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate | NodeJS.Timeout =>
    callback.name === '' && Function.prototype.toString.call(callback).includes('[native code]') ? setTimeout(callback, 1) : immediate(callback, ...args);
  globalThis.setImmediate = Object.assign(paced, { __promisify__: immediate.__promisify__ }) as unknown as typeof setImmediate;
}

let writeBufferPatched = false;

/** Dawn for Node rejects some typed-array views; copy the written range into a fresh Uint8Array first. */
function patchWriteBuffer(): void {
  if (writeBufferPatched) return;
  writeBufferPatched = true;
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const original = proto.writeBuffer;
  proto.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    bufferOffset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset = 0,
    size?: number,
  ): undefined {
    let bytes: Uint8Array<ArrayBuffer>;
    if (ArrayBuffer.isView(data)) {
      const elementBytes = 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
      const count = size ?? data.byteLength / elementBytes - dataOffset;
      bytes = new Uint8Array(data.buffer, data.byteOffset + dataOffset * elementBytes, count * elementBytes).slice();
    } else {
      const count = size ?? data.byteLength - dataOffset;
      bytes = new Uint8Array(data, dataOffset, count).slice();
    }
    original.call(this, buffer, bufferOffset, bytes);
    return undefined;
  };
}
