import { describe, expect, it } from 'vitest';
import { testGpuContext } from '../testing/node-gpu';
import { runInteropCheck } from './interop-check';

describe('onnxruntime-web and our WGSL kernels share one device (Node + Dawn)', () => {
  it('our kernel → ORT (input + weights from our buffers) → our kernel, numbers checked', async () => {
    const ctx = await testGpuContext();
    const result = await runInteropCheck(ctx);
    expect(result.outputLocation).toBe('gpu-buffer');
    expect(result.maxAbsError).toBeLessThan(1e-4);
    expect(result.ok).toBe(true);
    // Non-trivial values: a kernel or session that wrote zeros would fail the line above, and this one.
    expect(Math.max(...result.values.map(Math.abs))).toBeGreaterThan(0.1);
  });
});
