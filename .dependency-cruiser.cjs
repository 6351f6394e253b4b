/**
 * The one-way import rule of STYLE.md:
 *   protocol ← processor, gpu ← shaders (the kernel layer) ← ort ← model ← generate ← api ← workers ← component ← demo
 * shaders/ (one folder per kernel role: WGSL, its descriptor and host code) imports only src/protocol and src/gpu;
 * src/model, src/generate, src/ort, src/api and src/cli may import it; nothing below it (protocol, processor, gpu,
 * loader) nor the UI side (component, workers) may.
 * src/convert (the checkpoint converter the CLI and the browser share) imports src/protocol, src/processor, src/loader
 * (hashing, the model store) and src/ort/onnx; only its node-*.ts files may import node: modules.
 * export/ imports only src/protocol, src/convert and pure helpers (src/ort/onnx, src/processor).
 * Tests (*.test.ts), test harnesses (*-harness.ts) and src/testing may reach across for fixtures and references.
 */
const layers = {
  protocol: [],
  processor: ['protocol'],
  gpu: ['protocol'],
  ort: ['protocol', 'gpu', 'shaders'],
  model: ['protocol', 'processor', 'gpu', 'ort', 'shaders'],
  generate: ['protocol', 'processor', 'gpu', 'ort', 'model', 'shaders'],
  loader: ['protocol'],
  // src/ort/onnx only (the rule below): the graph encoder, not the runtime.
  convert: ['protocol', 'processor', 'loader', 'ort'],
  api: ['protocol', 'processor', 'gpu', 'ort', 'model', 'generate', 'loader', 'convert', 'shaders'],
  // The web component talks to the engine only through the worker client (workers/).
  component: ['protocol', 'workers'],
  // The published package's entry: the API, the worker client and the element's types; nothing imports it.
  package: ['protocol', 'api', 'workers', 'component'],
  // The Node CLI: everything in src but the UI; nothing imports it.
  cli: ['protocol', 'processor', 'gpu', 'ort', 'model', 'generate', 'loader', 'convert', 'api', 'shaders'],
};

const forbidden = Object.entries(layers).map(([layer, allowed]) => {
  const banned = Object.keys(layers).filter((l) => l !== layer && !allowed.includes(l));
  const outside = [allowed.includes('workers') ? '' : 'workers/|', allowed.includes('shaders') ? '' : 'shaders/|'].join('');
  return {
    name: `${layer}-imports-only-${allowed.join('-') || 'nothing'}`,
    severity: 'error',
    from: { path: `^src/${layer}/`, pathNot: '\\.test\\.ts$' },
    to: { path: `^(src/(${banned.join('|')})/|${outside}export/|demo/|src/testing/)` },
  };
});

// shaders/: the kernel layer, between gpu and model.
forbidden.push({
  name: 'shaders-import-only-protocol-gpu-and-shaders',
  severity: 'error',
  from: { path: '^shaders/', pathNot: '\\.test\\.ts$' },
  to: { path: '^(src/(?!(protocol|gpu)/)|workers/|export/|demo/|e2e/|bench/)' },
});

// src/convert ships to the browser: the ONNX encoder but not the runtime, and node: modules only in its node-*.ts files.
forbidden.push({
  name: 'convert-imports-ort-onnx-only',
  severity: 'error',
  from: { path: '^src/convert/', pathNot: '\\.test\\.ts$' },
  to: { path: '^src/ort/(?!onnx/)' },
});
forbidden.push({
  name: 'convert-is-browser-code-but-its-node-files',
  severity: 'error',
  from: { path: '^src/convert/', pathNot: '(\\.test\\.ts$|/node-[^/]*\\.ts$)' },
  to: { dependencyTypes: ['core'] },
});

// workers/: the worker entry and its client sit on top of the API; the UI is above them.
forbidden.push({
  name: 'workers-import-the-api-not-the-ui',
  severity: 'error',
  from: { path: '^workers/', pathNot: '\\.test\\.ts$' },
  to: { path: '^(src/(component|cli|testing)/|shaders/|demo/|export/|e2e/)' },
});

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'export-imports-protocol-and-pure-helpers-only',
      severity: 'error',
      from: { path: '^export/', pathNot: '(\\.test\\.ts|-harness\\.ts)$' },
      to: { path: '^(src/(gpu|model|generate|loader|api|component)/|shaders/|workers/|demo/|src/ort/(?!onnx/))' },
    },
    {
      name: 'src-never-imports-export-or-demo',
      severity: 'error',
      from: { path: '^src/', pathNot: '(\\.test\\.ts$|^src/testing/)' },
      to: { path: '^(export|demo|e2e|bench)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^node_modules|\\.wgsl\\?raw$)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
