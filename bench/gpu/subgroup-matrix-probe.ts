/**
 * Probes the subgroup-matrix builtins one at a time on the GPU machine, so a kernel that fails there (while passing
 * with the builtins emulated) can be traced to the operation whose hardware behaviour differs from the WGSL proposal
 * as the emulation reads it. Each probe is a tiny kernel on exact small integers (every product and sum exact in f16
 * and f32), compared element by element with a plain-TS product; the first wrong elements are printed.
 *   node bench/gpu/bundle.mjs bench/gpu/subgroup-matrix-probe.ts   (here), then on the GPU machine:
 *   source .gpu/env.sh && "$NODE" bench/out/gpu-bundle/subgroup-matrix-probe.mjs --dawn-flags allow_unsafe_apis,vulkan_enable_f16_on_nvidia
 * Probes (M × K left, K × N right, M × N result, the adapter's f16 → f32 configs):
 *   left row-major · right col-major (the dense kernel's pattern) / right row-major (O += P·V) / left col-major;
 *   a result loaded from workgroup memory and accumulated into; padded strides; a left fragment loaded before a
 *   barrier whose memory is then overwritten (loaded once, used in a loop); several subgroups per workgroup, each on
 *   its own rows.
 */
import { readBuffer, uploadBuffer, createStorageBuffer } from '../../src/gpu/gpu-buffers';
import { benchGpuContext } from './bench-gpu';

interface Probe {
  name: string;
  leftLayout: 'row_major' | 'col_major';
  rightLayout: 'row_major' | 'col_major';
  /** Accumulate into a result loaded from workgroup memory (c), else start from zero. */
  loadResult: boolean;
  /** Extra elements per row of each staged matrix. */
  pad: number;
  /** Load the left fragment, barrier, overwrite its workgroup memory, barrier, then multiply (twice, in a loop). */
  overwriteAfterLoad: boolean;
  /** Subgroups per workgroup; subgroup s computes rows s·M … of a (subgroups·M) × N result. */
  subgroups: number;
}

const PROBES: Probe[] = [
  { name: 'left row, right col', leftLayout: 'row_major', rightLayout: 'col_major', loadResult: false, pad: 0, overwriteAfterLoad: false, subgroups: 1 },
  { name: 'left row, right row', leftLayout: 'row_major', rightLayout: 'row_major', loadResult: false, pad: 0, overwriteAfterLoad: false, subgroups: 1 },
  { name: 'left col, right row', leftLayout: 'col_major', rightLayout: 'row_major', loadResult: false, pad: 0, overwriteAfterLoad: false, subgroups: 1 },
  { name: 'left row, right col, padded rows (+8)', leftLayout: 'row_major', rightLayout: 'col_major', loadResult: false, pad: 8, overwriteAfterLoad: false, subgroups: 1 },
  { name: 'left row, right row, padded rows (+8)', leftLayout: 'row_major', rightLayout: 'row_major', loadResult: false, pad: 8, overwriteAfterLoad: false, subgroups: 1 },
  { name: 'result loaded from workgroup memory', leftLayout: 'row_major', rightLayout: 'col_major', loadResult: true, pad: 0, overwriteAfterLoad: false, subgroups: 1 },
  { name: 'left loaded, its memory overwritten after a barrier', leftLayout: 'row_major', rightLayout: 'col_major', loadResult: false, pad: 8, overwriteAfterLoad: true, subgroups: 1 },
  { name: '4 subgroups, own rows each', leftLayout: 'row_major', rightLayout: 'col_major', loadResult: false, pad: 8, overwriteAfterLoad: false, subgroups: 4 },
  { name: '4 subgroups, own rows, left loaded then overwritten', leftLayout: 'row_major', rightLayout: 'row_major', loadResult: true, pad: 8, overwriteAfterLoad: true, subgroups: 4 },
];

function kernel(p: Probe, M: number, N: number, K: number, sg: number): string {
  const rows = p.subgroups * M;
  // Staged layouts: left is rows × K (row-major: [r][k]; col-major: [k][r]), right K × N (row: [k][n]; col: [n][k]).
  const aStride = (p.leftLayout === 'row_major' ? K : rows) + p.pad;
  const aRows = p.leftLayout === 'row_major' ? rows : K;
  const bStride = (p.rightLayout === 'row_major' ? N : K) + p.pad;
  const bRows = p.rightLayout === 'row_major' ? K : N;
  const cStride = N + p.pad;
  const aOffset = p.leftLayout === 'row_major' ? 'sg * MM * A_STRIDE' : 'sg * MM';
  return `diagnostic(off, chromium.subgroup_matrix_uniformity);
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
const MM: u32 = ${M}u;
const A_STRIDE: u32 = ${aStride}u;
const B_STRIDE: u32 = ${bStride}u;
const C_STRIDE: u32 = ${cStride}u;
const THREADS: u32 = ${p.subgroups * sg}u;
@group(0) @binding(0) var<storage, read> a_in: array<f32>;   // as staged: ${aRows} × A_STRIDE
@group(0) @binding(1) var<storage, read> b_in: array<f32>;   // ${bRows} × B_STRIDE
@group(0) @binding(2) var<storage, read> c_in: array<f32>;   // ${rows} × C_STRIDE
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // ${rows} × C_STRIDE
var<workgroup> a_s: array<f16, ${aRows * aStride}>;
var<workgroup> b_s: array<f16, ${bRows * bStride}>;
var<workgroup> c_s: array<f32, ${rows * cStride}>;
@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) lid: u32) {
  let sg = lid / ${sg}u;
  for (var i = lid; i < ${aRows * aStride}u; i += THREADS) { a_s[i] = f16(a_in[i]); }
  for (var i = lid; i < ${bRows * bStride}u; i += THREADS) { b_s[i] = f16(b_in[i]); }
  for (var i = lid; i < ${rows * cStride}u; i += THREADS) { c_s[i] = c_in[i]; }
  workgroupBarrier();
  let a = subgroupMatrixLoad<subgroup_matrix_left<f16, ${K}, ${M}>, ${p.leftLayout}>(&a_s, ${aOffset}, A_STRIDE);
  var c = ${p.loadResult ? `subgroupMatrixLoad<subgroup_matrix_result<f32, ${N}, ${M}>, row_major>(&c_s, sg * MM * C_STRIDE, C_STRIDE)` : `subgroup_matrix_result<f32, ${N}, ${M}>()`};
${
  p.overwriteAfterLoad
    ? `  workgroupBarrier();
  for (var i = lid; i < ${aRows * aStride}u; i += THREADS) { a_s[i] = f16(-1000.0); }
  workgroupBarrier();
  for (var it = 0u; it < 2u; it++) {
    let b = subgroupMatrixLoad<subgroup_matrix_right<f16, ${N}, ${K}>, ${p.rightLayout}>(&b_s, 0u, B_STRIDE);
    c = subgroupMatrixMultiplyAccumulate(a, b, c);
  }`
    : `  let b = subgroupMatrixLoad<subgroup_matrix_right<f16, ${N}, ${K}>, ${p.rightLayout}>(&b_s, 0u, B_STRIDE);
  c = subgroupMatrixMultiplyAccumulate(a, b, c);`
}
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&c_s, sg * MM * C_STRIDE, c, C_STRIDE);
  workgroupBarrier();
  for (var i = lid; i < ${rows * cStride}u; i += THREADS) { out[i] = c_s[i]; }
}`;
}

async function main(): Promise<void> {
  const ctx = await benchGpuContext();
  const { device, capabilities: caps } = ctx;
  const sg = caps.subgroupMinSize;
  console.log(`adapter ${caps.vendor} ${caps.description}; subgroups ${caps.subgroupMinSize}..${caps.subgroupMaxSize}`);
  const configs = caps.subgroupMatrixConfigs.filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32');
  if (configs.length === 0) throw new Error('no f16 → f32 subgroup-matrix config (check --dawn-flags)');
  let failures = 0;
  for (const { M, N, K } of configs) {
    for (const p of PROBES) {
      const rows = p.subgroups * M;
      const aRowMajor = p.leftLayout === 'row_major';
      const bRowMajor = p.rightLayout === 'row_major';
      const aStride = (aRowMajor ? K : rows) + p.pad;
      const bStride = (bRowMajor ? N : K) + p.pad;
      const cStride = N + p.pad;
      // Small integers: exact in f16; sums of ≤ 2·K products of |x| ≤ 3 exact in f32.
      const rnd = (i: number, salt: number): number => (((i * 2654435761 + salt * 40503) >>> 7) % 7) - 3;
      const A = (r: number, k: number): number => rnd(r * 131 + k, 1);
      const B = (k: number, n: number): number => rnd(k * 137 + n, 2);
      const C0 = (r: number, n: number): number => (p.loadResult ? rnd(r * 139 + n, 3) : 0);
      const a = new Float32Array((aRowMajor ? rows : K) * aStride).fill(99);
      const b = new Float32Array((bRowMajor ? K : N) * bStride).fill(99);
      const c = new Float32Array(rows * cStride).fill(0);
      for (let r = 0; r < rows; r++) for (let k = 0; k < K; k++) a[aRowMajor ? r * aStride + k : k * aStride + r] = A(r, k);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) b[bRowMajor ? k * bStride + n : n * bStride + k] = B(k, n);
      for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) c[r * cStride + n] = C0(r, n);
      const reps = p.overwriteAfterLoad ? 2 : 1;
      const label = `M${M} N${N} K${K} | ${p.name}`;
      try {
        device.pushErrorScope('validation');
        const module = device.createShaderModule({ code: kernel(p, M, N, K, sg) });
        const info = await module.getCompilationInfo();
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length) throw new Error(errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; '));
        const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
        const bufs = [uploadBuffer(device, 'a', a), uploadBuffer(device, 'b', b), uploadBuffer(device, 'c', c), createStorageBuffer(device, 'out', c.byteLength)];
        const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })) });
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(1);
        pass.end();
        device.queue.submit([enc.finish()]);
        const scope = await device.popErrorScope();
        if (scope) throw new Error(scope.message);
        const got = new Float32Array(await readBuffer(device, bufs[3] as GPUBuffer, c.byteLength));
        const wrong: string[] = [];
        let nWrong = 0;
        for (let r = 0; r < rows; r++) {
          for (let n = 0; n < N; n++) {
            let want = C0(r, n);
            for (let k = 0; k < K; k++) want += reps * A(r, k) * B(k, n);
            const v = got[r * cStride + n];
            if (v !== want) {
              nWrong++;
              if (wrong.length < 6) wrong.push(`(${r},${n}) got ${v} want ${want}`);
            }
          }
        }
        for (const buf of bufs) buf.destroy();
        if (nWrong) failures++;
        console.log(`${nWrong ? 'FAIL' : 'PASS'} ${label}${nWrong ? `: ${nWrong}/${rows * N} wrong, ${wrong.join(', ')}` : ''}`);
        if (nWrong && nWrong === rows * N) {
          // Whole-result failures: is it the transpose (got[r][n] = want[n][r]) or the product with B transposed?
          const tr = (r: number, n: number): number => got[n * cStride + r] ?? NaN;
          let transposed = M === N;
          for (let r = 0; r < rows && transposed; r++) for (let n = 0; n < N && transposed; n++) {
            let want = C0(r, n);
            for (let k = 0; k < K; k++) want += reps * A(r, k) * B(k, n);
            transposed = tr(r, n) === want;
          }
          let bT = K === N;
          for (let r = 0; r < rows && bT; r++) for (let n = 0; n < N && bT; n++) {
            let want = C0(r, n);
            for (let k = 0; k < K; k++) want += reps * A(r, k) * B(n, k);
            bT = got[r * cStride + n] === want;
          }
          console.log(`     result is the transpose: ${transposed}; result is A·Bᵀ (other majorness of B): ${bT}`);
        }
      } catch (e) {
        failures++;
        console.log(`ERROR ${label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  console.log(failures ? `${failures} probes failed` : 'all probes pass');
  process.exit(0);
}

await main();
