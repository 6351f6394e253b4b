/**
 * The diagnostics section: the WebGPU adapter's capabilities and the interop check (our WGSL kernel →
 * onnxruntime-web → WGSL on one device). Loaded only when the section is opened: it creates its own GPU
 * device and onnxruntime session, which a chat-only visit does not need.
 */
import { GpuContext } from '../src/gpu/gpu-context';
import { runInteropCheck } from '../src/ort/interop-check';
import { isSarashinaError } from '../src/protocol/errors';

function row(name: string, value: string): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const th = document.createElement('th');
  const td = document.createElement('td');
  th.textContent = name;
  td.textContent = value;
  tr.append(th, td);
  return tr;
}

/** Fills `status`, `caps` (a table) and `interop` with the adapter and check results; never throws. */
export async function runDiagnostics(els: { status: HTMLElement; caps: HTMLTableElement; interop: HTMLElement }): Promise<void> {
  const { status, caps, interop } = els;
  status.textContent = 'WebGPU を確認しています… (checking WebGPU…)';
  let ctx: GpuContext;
  try {
    ctx = await GpuContext.create();
  } catch (e) {
    status.className = 'bad';
    status.textContent = isSarashinaError(e) ? `${e.code}: ${e.message}` : String(e);
    interop.textContent = '—';
    return;
  }
  const c = ctx.capabilities;
  status.className = 'ok';
  status.textContent = `WebGPU adapter: ${c.vendor || 'unknown vendor'} ${c.architecture} ${c.description}`.trim();
  const body = caps.tBodies[0] ?? caps.createTBody();
  body.replaceChildren(...Object.entries(c).map(([k, v]) => row(k, String(v))));
  caps.hidden = false;
  interop.className = '';
  interop.textContent = '実行中… (running…)';
  try {
    const r = await runInteropCheck(ctx);
    interop.className = r.ok ? 'ok' : 'bad';
    interop.textContent = `${r.ok ? 'OK' : 'FAILED'}: WGSL → onnxruntime-web → WGSL on one device, max |error| ${r.maxAbsError.toExponential(2)}, ORT output in ${r.outputLocation}`;
  } catch (e) {
    interop.className = 'bad';
    interop.textContent = `FAILED: ${String(e)}`;
  }
  // The context stays alive: onnxruntime-web keeps the device it was given for the rest of the page.
}
