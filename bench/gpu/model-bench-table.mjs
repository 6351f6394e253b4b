// Markdown table for bench/BENCH.md from one run of bench/gpu/run-model-bench.sh: our kernels, the ORT-only paths
// and the Hugging Face reference (its JSON line), all from the same call on the same card.
// Usage: node bench/gpu/model-bench-table.mjs model-kernels.json model-ort-baseline.json reference.log
import { readFileSync } from 'node:fs';

const [kernelsFile, ortFile, referenceFile] = process.argv.slice(2);
const kernels = JSON.parse(readFileSync(kernelsFile, 'utf8')).results[0];
const ort = JSON.parse(readFileSync(ortFile, 'utf8')).results[0];
const refLine = readFileSync(referenceFile, 'utf8').split('\n').find((l) => l.startsWith('{'));
const ref = refLine ? JSON.parse(refLine) : {};
const best = (a, b, key) => Math.max(a?.[key] ?? 0, b?.[key] ?? 0) || null;
const least = (a, b, key) => Math.min(a?.[key] ?? Infinity, b?.[key] ?? Infinity);
const refDecode = { 300: best(ref.sdpa_p300, ref.eager_p300, 'decode_tok_s'), 1000: best(ref.sdpa_p1100, ref.eager_p1100, 'decode_tok_s') };
const refPrefill = { 300: least(ref.sdpa_p300, ref.eager_p300, 'prefill_ms'), 1000: least(ref.sdpa_p1100, ref.eager_p1100, 'prefill_ms') };
const refVision = { 1024: ref.vit_32x32_ms, 3996: ref.vit_54x74_ms, 12288: ref.vit_96x128_ms };
const f = (x, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));
const ratio = (ours, theirs, higherIsBetter) => {
  if (!ours || !theirs || !Number.isFinite(theirs)) return '—';
  const r = higherIsBetter ? ours / theirs : theirs / ours;
  return r >= 1 ? `**${r.toFixed(2)}× faster**` : `${(1 / r).toFixed(2)}× slower`;
};
const rows = [['metric', 'ours (our kernels)', 'ORT-only paths', 'Hugging Face bf16', 'ours vs Hugging Face']];
for (const c of kernels.contexts) {
  const o = ort.contexts.find((x) => x.context === c.context);
  const near = c.context <= 300 ? 300 : c.context <= 1000 ? 1000 : null;
  const refNote = near ? `${f(refDecode[near])} (prompt ${near === 300 ? 300 : 1100})` : 'not measured';
  rows.push([`decode tok/s, context ${c.promptTokens}`, `**${f(c.decodeTokensPerSecond)}** (roofline ${c.rooflineTokensPerSecond})`, f(o?.decodeTokensPerSecond), refNote, near ? ratio(c.decodeTokensPerSecond, refDecode[near], true) : '—']);
}
for (const c of kernels.contexts) {
  const o = ort.contexts.find((x) => x.context === c.context);
  const near = c.context <= 300 ? 300 : c.context <= 1000 ? 1000 : null;
  const refNote = near ? `${f(refPrefill[near])} ms (prompt ${near === 300 ? 300 : 1100})` : 'not measured';
  rows.push([`prefill, ${c.promptTokens} tokens`, `${f(c.prefillMs)} ms (${f(c.prefillTokensPerSecond, 0)} tok/s; cold ${f(c.prefillColdMs, 0)} ms)`, `${f(o?.prefillMs)} ms`, refNote, near ? ratio(c.prefillMs, refPrefill[near], false) : '—']);
}
for (const [size, e] of Object.entries(kernels.imageEncodeMs)) {
  const o = ort.imageEncodeMs[size];
  const patches = e.patches ?? 0;
  rows.push([`image encode ${size} (${patches} patches)`, `**${f(e.ms)} ms**`, o && 'ms' in o ? `${f(o.ms)} ms` : 'fails (N² scores > 1 GiB)', `${f(refVision[patches])} ms`, ratio(e.ms, refVision[patches], false)]);
}
const t = kernels.ttft;
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
rows.push([`time to first token, ${t.promptTokens}-token prompt (${t.imageTokens} image tokens)`, `**${f(t.timeToFirstTokenMs)} ms** (preprocess ${f(med(t.runs.map((r) => r.preprocessMs)), 0)}, encode ${f(med(t.runs.map((r) => r.imageEncodeMs)), 0)}, prefill ${f(med(t.runs.map((r) => r.prefillMs)), 0)})`, `${f(ort.ttft.timeToFirstTokenMs)} ms`, '—', '—']);
rows.push(['load (speed-run process, V8 defaults)', `${f(kernels.loadMs / 1000)} s`, `${f(ort.loadMs / 1000)} s`, '—', '—']);
rows.push(['GPU buffers after load / peak', `${f(kernels.gpuBytesAfterLoad / 2 ** 30, 2)} / ${f(kernels.gpuPeakBytes / 2 ** 30, 2)} GiB`, `${f(ort.gpuBytesAfterLoad / 2 ** 30, 2)} / ${f(ort.gpuPeakBytes / 2 ** 30, 2)} GiB`, '—', '—']);
console.log(rows.map((r, i) => `| ${r.join(' | ')} |${i === 0 ? `\n|${r.map(() => '---').join('|')}|` : ''}`).join('\n'));
