/**
 * Test helper: the WebGPU adapter the Node tests run on, named by $SARASHINA_TEST_ADAPTER ('swiftshader', the
 * default, or 'lavapipe'; vitest.config.ts sets it per project), and one shared GpuContext per test file on it.
 * The adapter is checked by its reported identity, so no test depends on which driver Dawn would pick by itself.
 */
import { GpuContext } from '../gpu/gpu-context';
import { installNodeWebGpu, LAVAPIPE_ICD, SWIFTSHADER_ICD } from '../gpu/node-webgpu';

export type TestAdapter = 'swiftshader' | 'lavapipe';

/** Per adapter: its Vulkan driver manifest and the word its adapter info carries (description or architecture). */
export const TEST_ADAPTERS: Readonly<Record<TestAdapter, { readonly icd: string; readonly identity: string }>> = {
  swiftshader: { icd: SWIFTSHADER_ICD, identity: 'swiftshader' },
  lavapipe: { icd: LAVAPIPE_ICD, identity: 'llvmpipe' },
};

/** The adapter named by $SARASHINA_TEST_ADAPTER (default 'swiftshader'); throws on any other value. */
export function testAdapter(): TestAdapter {
  const name = process.env.SARASHINA_TEST_ADAPTER ?? 'swiftshader';
  if (name === 'swiftshader' || name === 'lavapipe') return name;
  throw new Error(`SARASHINA_TEST_ADAPTER must be 'swiftshader' or 'lavapipe', got '${name}'`);
}

/** Environment for a process that must run on `adapter` (vitest projects, child processes such as `npm run chat`). */
export function testAdapterEnv(adapter: TestAdapter = testAdapter()): { SARASHINA_TEST_ADAPTER: TestAdapter; VK_ICD_FILENAMES: string } {
  return { SARASHINA_TEST_ADAPTER: adapter, VK_ICD_FILENAMES: TEST_ADAPTERS[adapter].icd };
}

/** Throws unless `ctx` runs on the adapter the tests asked for (its info names SwiftShader or llvmpipe). */
export function expectTestAdapter(ctx: GpuContext, adapter: TestAdapter = testAdapter()): void {
  const { description, architecture, vendor } = ctx.capabilities;
  const identity = TEST_ADAPTERS[adapter].identity;
  if (!`${description} ${architecture}`.toLowerCase().includes(identity)) {
    throw new Error(
      `The tests asked for the ${adapter} adapter (SARASHINA_TEST_ADAPTER) but Dawn gave "${description}" ` +
        `(architecture "${architecture}", vendor "${vendor}", VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}).`,
    );
  }
}

let context: Promise<GpuContext> | undefined;

/** The file's shared GpuContext on the named test adapter; rejects when Dawn gave another adapter. */
export function testGpuContext(): Promise<GpuContext> {
  context ??= (async () => {
    const adapter = testAdapter();
    const ctx = await GpuContext.create({ gpu: await installNodeWebGpu({ backend: adapter }) });
    expectTestAdapter(ctx, adapter);
    return ctx;
  })();
  return context;
}
