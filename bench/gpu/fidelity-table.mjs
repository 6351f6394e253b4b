// Prints the table of bench/gpu/fidelity.sh from the JSON files bench/gpu/fidelity.ts wrote, and writes them together
// as one summary JSON. Plain Node (no dependencies): node bench/gpu/fidelity-table.mjs SUMMARY.json run1.json run2.json …
import { readFileSync, writeFileSync } from 'node:fs';

const [summaryPath, ...files] = process.argv.slice(2);
if (!summaryPath || files.length === 0) throw new Error('usage: node bench/gpu/fidelity-table.mjs SUMMARY.json RUN.json…');
const results = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const e = (x) => (typeof x === 'number' ? x.toExponential(2) : '—');
const lines = [
  '| variant | Dawn flags | case | way | ids | first logits rel L2 | (max err / max) | worst of steps rel L2 | features max rel | greedy (margin ≥ 0.05) | greedy (margin > 2 × error) | min margin |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of results) {
  for (const run of r.runs) {
    lines.push(
      `| ${r.variant} | ${r.dawnFlags ?? '—'} | ${run.case} | ${run.way} | ${run.ids} | ${e(run.firstRelL2)} | ${e(run.firstMaxRel)} | ${e(run.worstRelL2)} | ${e(run.features?.maxRel)} | ` +
        `${run.tokensAgree ? 'equal' : 'DIFFER'} (${run.tokensChecked}) | ${run.clearTokensAgree ? 'equal' : 'DIFFER'} (${run.clearSteps}) | ${run.minMargin.toFixed(3)} |`,
    );
  }
}
const spec = results[0]?.spec;
const head = spec
  ? `text ${spec.text.hiddenSize}/${spec.text.intermediateSize}, ${spec.text.numLayers} layers, ${spec.text.numHeads} heads, vocab ${spec.text.vocabSize}; vision ${spec.vision.embedDim}, ${spec.vision.depth} blocks → ${spec.vision.outHiddenSize}`
  : '';
writeFileSync(summaryPath, JSON.stringify({ model: head, results }, null, 1));
console.log(`${head}; adapter ${results[0]?.adapter?.description ?? '?'}; commit ${results[0]?.commit ?? '?'}`);
console.log(lines.join('\n'));
