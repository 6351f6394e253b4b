import { GpuContext } from '../../src/gpu/gpu-context';
import { runInteropCheck } from '../../src/ort/interop-check';

declare global {
  interface Window {
    runInterop: () => Promise<unknown>;
  }
}

window.runInterop = async () => {
  const ctx = await GpuContext.create();
  try {
    return { capabilities: ctx.capabilities, result: await runInteropCheck(ctx) };
  } finally {
    ctx.dispose();
  }
};
