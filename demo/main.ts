import { GpuContext } from '../src/gpu/gpu-context';
import { runInteropCheck } from '../src/ort/interop-check';
import { isSarashinaError } from '../src/protocol/errors';

const status = document.querySelector<HTMLParagraphElement>('#status');
const caps = document.querySelector<HTMLTableElement>('#caps');
const interop = document.querySelector<HTMLParagraphElement>('#interop');

function row(name: string, value: string): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const th = document.createElement('th');
  const td = document.createElement('td');
  th.textContent = name;
  td.textContent = value;
  tr.append(th, td);
  return tr;
}

async function main(): Promise<void> {
  if (!status || !caps || !interop) return;
  let ctx: GpuContext;
  try {
    ctx = await GpuContext.create();
  } catch (e) {
    status.className = 'bad';
    status.textContent = isSarashinaError(e) ? `${e.code}: ${e.message}` : String(e);
    return;
  }
  const c = ctx.capabilities;
  status.className = 'ok';
  status.textContent = `WebGPU adapter: ${c.vendor || 'unknown vendor'} ${c.architecture} ${c.description}`.trim();
  const body = caps.tBodies[0];
  for (const [k, v] of Object.entries(c)) body?.append(row(k, String(v)));
  caps.hidden = false;
  interop.textContent = 'running…';
  try {
    const r = await runInteropCheck(ctx);
    interop.className = r.ok ? 'ok' : 'bad';
    interop.textContent = `${r.ok ? 'OK' : 'FAILED'}: WGSL → onnxruntime-web → WGSL on one device, max |error| ${r.maxAbsError.toExponential(2)}, ORT output in ${r.outputLocation}`;
  } catch (e) {
    interop.className = 'bad';
    interop.textContent = `FAILED: ${String(e)}`;
  }
}

void main();
