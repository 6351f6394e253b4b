/**
 * Stage-by-stage dump of the subgroup-matrix vision attention on the GPU machine, for a kernel that fails there while
 * its builtins pass one by one (bench/gpu/subgroup-matrix-probe.ts): the generated WGSL of the engine's plan gets
 * three extra writes for workgroup 0's first key tile — S = Q·Kᵀ as stored, P as written, O = P·V before the division
 * (its first key-tile width of columns) — into the output buffer past the real output, and each is compared with a
 * plain-TS computation of that stage (from the same f16-rounded inputs). One image of one 64-row tile, one head.
 *   node bench/gpu/bundle.mjs bench/gpu/vision-attention-mma-debug.ts; on the GPU machine:
 *   source .gpu/env.sh && "$NODE" bench/out/gpu-bundle/vision-attention-mma-debug.mjs --dawn-flags allow_unsafe_apis,vulkan_enable_f16_on_nvidia
 */
import { createStorageBuffer, readBuffer, uploadBuffer } from '../../src/gpu/gpu-buffers';
import { visionCuSeqlens, visionRotaryTables } from '../../src/processor/vision-rotary';
import { compareArrays, randomFloats } from '../../src/testing/compare';
import f32IoWgsl from '../../shaders/vision/attention/io-f32.wgsl?raw';
import { chooseVisionAttentionMma, type VisionAttentionMmaPlan, visionAttentionMmaStorageBytes } from '../../shaders/vision/attention/vision-attention-mma-plan';
import { type MatrixSpelling, SUBGROUP_MATRIX_SPELLINGS, visionAttentionMmaWgsl } from '../../shaders/vision/attention/vision-attention-mma-wgsl';
import { EMULATED_MATRIX_SPELLING } from '../../shaders/vision/attention/vision-attention-mma-test-spelling';
import { visionAttentionReference } from '../../shaders/vision/attention/vision-attention-reference';
import { benchGpuContext } from './bench-gpu';

/** x rounded to the nearest f16 (ties away from zero: close enough for a 1e-2 comparison). */
const f16 = (x: number): number => {
  const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(x) || 1)), -14) - 10);
  return Math.round(x / ulp) * ulp;
};

function patch(code: string, before: string, insert: string): string {
  const at = code.indexOf(before);
  if (at < 0) throw new Error(`debug patch: marker not found: ${before}`);
  return code.slice(0, at) + insert + code.slice(at);
}

async function runCase(device: GPUDevice, plan: VisionAttentionMmaPlan, spelling: MatrixSpelling, headDim: number, h: number, w: number): Promise<void> {
  const grids = [{ t: 1, h, w }];
  const tables = visionRotaryTables(grids, headDim);
  const n = tables.patches;
  const heads = 1;
  const qkv = randomFloats(n * 3 * headDim, 11);
  const { rows, keys, N, pStride, sStride } = plan;
  const oCols = Math.min(plan.paddedHeadDim, keys);
  const realVec4s = (n * heads * headDim) / 4;
  const base = Math.ceil(realVec4s / 1024) * 1024;
  const sAt = base;
  const pAt = sAt + (rows * sStride) / 4;
  const oAt = pAt + Math.ceil((rows * pStride) / 4);
  const kvStride = plan.kvStride;
  // With q in its own tile: the staged q and k tiles, and S computed by scalar code from them (no matrices).
  const qAt = oAt + (rows * sStride) / 4;
  const kAt = qAt + (rows * kvStride) / 4;
  const ssAt = kAt + (keys * kvStride) / 4;
  const outVec4s = ssAt + (rows * sStride) / 4;
  const { header, body } = visionAttentionMmaWgsl(plan, spelling);
  let code = `${header}\n${f32IoWgsl}\n${body}`;
  const dumpS = `    if (id == 0u && iter == 0u) {
      for (var i = lid; i < ROWS * S_STRIDE / 4u; i += THREADS) { store_out(${sAt}u + i, vec4<f32>(s_tile[4u * i], s_tile[4u * i + 1u], s_tile[4u * i + 2u], s_tile[4u * i + 3u])); }
    }
`;
  const dumpP = `    workgroupBarrier();
    if (id == 0u && iter == 0u) {
      for (var i = lid; i < ROWS * P_STRIDE / 4u; i += THREADS) { store_out(${pAt}u + i, vec4<f32>(f32(p_tile[4u * i]), f32(p_tile[4u * i + 1u]), f32(p_tile[4u * i + 2u]), f32(p_tile[4u * i + 3u]))); }
    }
`;
  const stores = Array.from({ length: oCols / N }, (_, t) => `    ${spelling.store('s_tile', `sg_s + ${t * N}u`, `o_${t}`, 'S_STRIDE')};`).join('\n');
  const dumpO = `    workgroupBarrier();
${stores}
    workgroupBarrier();
    if (id == 0u && iter == 0u) {
      for (var i = lid; i < ROWS * S_STRIDE / 4u; i += THREADS) { store_out(${oAt}u + i, vec4<f32>(s_tile[4u * i], s_tile[4u * i + 1u], s_tile[4u * i + 2u], s_tile[4u * i + 3u])); }
    }
`;
  if (plan.ownQ) {
    const dumpQ = `  if (id == 0u) {
    for (var i = lid; i < ROWS * KV_STRIDE / 4u; i += THREADS) { store_out(${qAt}u + i, vec4<f32>(f32(q_tile[4u * i]), f32(q_tile[4u * i + 1u]), f32(q_tile[4u * i + 2u]), f32(q_tile[4u * i + 3u]))); }
  }
`;
    const dumpK = `    if (id == 0u && iter == 0u) {
      for (var i = lid; i < KEYS * KV_STRIDE / 4u; i += THREADS) { store_out(${kAt}u + i, vec4<f32>(f32(k_tile[4u * i]), f32(k_tile[4u * i + 1u]), f32(k_tile[4u * i + 2u]), f32(k_tile[4u * i + 3u]))); }
      for (var i = lid; i < ROWS * KEYS / 4u; i += THREADS) {
        let r = i / (KEYS / 4u);
        let j = (i % (KEYS / 4u)) * 4u;
        var acc = vec4<f32>(0.0);
        for (var d = 0u; d < DP_VEC4S * 4u; d++) {
          let qv = f32(q_tile[r * KV_STRIDE + d]);
          acc += qv * vec4<f32>(f32(k_tile[j * KV_STRIDE + d]), f32(k_tile[(j + 1u) * KV_STRIDE + d]), f32(k_tile[(j + 2u) * KV_STRIDE + d]), f32(k_tile[(j + 3u) * KV_STRIDE + d]));
        }
        store_out(${ssAt}u + i, acc);
      }
    }
`;
    code = patch(code, "  // Running max of this lane's row", dumpQ);
    code = patch(code, '    // S = Q·Kᵀ: k_tile', dumpK);
  }
  code = patch(code, "    // Online softmax of this lane's keys", dumpS);
  code = patch(code, '    // O += P·V', dumpP);
  code = patch(code, '    // The next tile overwrites k, v, S and P.', dumpO);

  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) throw new Error(errors.map((m) => `${m.lineNum}: ${m.message}`).join('; '));
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const cu = visionCuSeqlens(grids);
  let totalTiles = 0;
  for (let i = 0; i + 1 < cu.length; i++) totalTiles += Math.ceil(((cu[i + 1] ?? 0) - (cu[i] ?? 0)) / rows);
  const paramsU = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(paramsU, 0, new Uint32Array([heads, headDim, cu.length - 1, totalTiles]));
  const bufs: Record<number, GPUBuffer> = {
    0: paramsU,
    1: uploadBuffer(device, 'qkv', qkv),
    2: uploadBuffer(device, 'cos', tables.cos),
    3: uploadBuffer(device, 'sin', tables.sin),
    4: uploadBuffer(device, 'cu', new Uint32Array(cu)),
    5: createStorageBuffer(device, 'out', outVec4s * 16),
  };
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: Object.entries(bufs).map(([b, buffer]) => ({ binding: Number(b), resource: { buffer } })) });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(totalTiles * heads);
  pass.end();
  device.queue.submit([enc.finish()]);
  const out = new Float32Array(await readBuffer(device, bufs[5] as GPUBuffer, outVec4s * 16));
  for (const b of Object.values(bufs)) b.destroy();

  // Plain-TS stages for workgroup 0 (rows 0 … rows−1, keys 0 … keys−1), from f16-rounded rotated q·scale, k, v.
  const hd = headDim;
  const half = hd / 2;
  const rot = (r: number, part: number): number[] => {
    const x = (d: number): number => qkv[(r * 3 + part) * hd + d] ?? 0;
    return Array.from({ length: hd }, (_, d) => {
      const t = r * half + (d % half);
      const c = tables.cos[t] ?? 0;
      const s = tables.sin[t] ?? 0;
      return d < half ? x(d) * c - x(d + half) * s : x(d) * c + x(d - half) * s;
    });
  };
  const scale = Math.LOG2E / Math.sqrt(hd);
  const live = Math.min(n, rows);
  const liveKeys = Math.min(n, keys);
  const q = Array.from({ length: rows }, (_, r) => (r < live ? rot(r, 0).map((v) => f16(v * scale)) : new Array<number>(hd).fill(0)));
  const k = Array.from({ length: keys }, (_, j) => (j < liveKeys ? rot(j, 1).map(f16) : new Array<number>(hd).fill(0)));
  const v = Array.from({ length: keys }, (_, j) => Array.from({ length: hd }, (_, d) => (j < liveKeys ? f16(qkv[(j * 3 + 2) * hd + d] ?? 0) : 0)));
  const S = q.map((qr) => k.map((kj) => qr.reduce((acc, x, d) => acc + x * (kj[d] ?? 0), 0)));
  const P = S.map((sr) => {
    const m = Math.max(...sr.slice(0, liveKeys));
    return sr.map((s, j) => (j < liveKeys ? f16(2 ** (s - m)) : 0));
  });
  const O = P.map((pr) => Array.from({ length: oCols }, (_, d) => pr.reduce((acc, p, j) => acc + p * (v[j]?.[d] ?? 0), 0)));
  const take = (at: number, stride: number, cols: number): Float32Array => {
    const a = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * cols + c] = out[at * 4 + r * stride + c] ?? NaN;
    return a;
  };
  const flat = (m: number[][], cols: number): Float32Array => Float32Array.from(m.flatMap((r) => r.slice(0, cols)));
  const label = `head ${headDim}, ${h}×${w} (${n} patches), plan M${plan.M} N${plan.N} K${plan.K} rows ${rows} keys ${keys}`;
  console.log(`== ${label}`);
  const report = (name: string, got: Float32Array, want: Float32Array, cols: number): void => {
    const st = compareArrays(got, want);
    console.log(`  ${name}: ${JSON.stringify(st)}`);
    const bad: string[] = [];
    for (let i = 0; i < got.length && bad.length < 6; i++) {
      const g = got[i] ?? NaN;
      const wv = want[i] ?? NaN;
      if (Math.abs(g - wv) > 1e-2 * Math.max(1, Math.abs(wv))) bad.push(`(${Math.floor(i / cols)},${i % cols}) got ${g.toFixed(4)} want ${wv.toFixed(4)}`);
    }
    if (bad.length) console.log(`    first differences: ${bad.join('; ')}`);
    // Is it the transpose within 16×16 blocks, or rows/cols permuted? Test the transpose of each M×N block.
    if (bad.length) {
      let tMatch = 0;
      let total = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const br = r - (r % 16);
          const bc = c - (c % 16);
          const tr = br + (c % 16);
          const tc = bc + (r % 16);
          if (tr >= rows || tc >= cols) continue;
          total++;
          if (Math.abs((got[tr * cols + tc] ?? NaN) - (want[r * cols + c] ?? NaN)) <= 1e-2 * Math.max(1, Math.abs(want[r * cols + c] ?? 0))) tMatch++;
        }
      }
      console.log(`    got = want transposed within 16×16 blocks at ${tMatch}/${total} elements`);
    }
  };
  if (plan.ownQ) {
    const padded = (m: number[][], n: number): number[][] => m.map((r) => Array.from({ length: n }, (_, d) => r[d] ?? 0));
    report('staged q (rows × padded head)', take(qAt, kvStride, plan.paddedHeadDim), flat(padded(q, plan.paddedHeadDim), plan.paddedHeadDim), plan.paddedHeadDim);
    report('staged k (keys × padded head)', take(kAt, kvStride, plan.paddedHeadDim).subarray(0, keys * plan.paddedHeadDim), flat(padded(k, plan.paddedHeadDim), plan.paddedHeadDim), plan.paddedHeadDim);
    report('S by scalar code from the staged tiles', take(ssAt, keys, keys), flat(S, keys), keys);
  }
  report('S', take(sAt, sStride, keys), flat(S, keys), keys);
  report('P', take(pAt, pStride, keys), flat(P, keys), keys);
  report('O (first key-tile width of columns, before ÷ l)', take(oAt, sStride, oCols), flat(O, oCols), oCols);
  const ref = visionAttentionReference(qkv, tables.cos, tables.sin, { heads, headDim, cuSeqlens: cu });
  console.log(`  output vs reference: ${JSON.stringify(compareArrays(out.subarray(0, n * hd), ref))}`);
}

/** `plan` with q in its own tile, keys shrunk until it fits. */
function ownQVariant(plan: VisionAttentionMmaPlan, limit: number): VisionAttentionMmaPlan {
  const step = Math.max(plan.N, plan.K);
  for (let keys = plan.keys; keys >= step; keys -= step) {
    const bytes = visionAttentionMmaStorageBytes(plan.rows, keys, plan.kvStride, keys + 8, keys, true);
    if (bytes <= limit) return { ...plan, ownQ: true, keys, pStride: keys + 8, sStride: keys, workgroupStorageBytes: bytes };
  }
  throw new Error('no own-q variant fits');
}

// --emulate: a dry run of this script on lavapipe (VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json), the
// builtins in the tests' software spelling, an f16 → f32 M(sg/2) N8 K8 config and 16-key tiles.
const EMULATE = process.argv.includes('--emulate');

async function main(): Promise<void> {
  const ctx = await benchGpuContext();
  const sg = ctx.capabilities.subgroupMinSize;
  const caps = EMULATE ? { ...ctx.capabilities, subgroupMatrix: true, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: sg / 2, N: 8, K: 8 }] } : ctx.capabilities;
  const spelling = EMULATE ? EMULATED_MATRIX_SPELLING : SUBGROUP_MATRIX_SPELLINGS.template;
  for (const [headDim, h, w] of EMULATE
    ? ([[16, 4, 4]] as const)
    : ([
        [80, 8, 8],
        [16, 8, 8],
        [16, 4, 4],
      ] as const)) {
    const choice = chooseVisionAttentionMma(caps, headDim);
    if (!choice.plan) throw new Error(choice.reason);
    const plan: VisionAttentionMmaPlan = EMULATE ? { ...choice.plan, keys: 16, pStride: 24, sStride: 16 } : choice.plan;
    try {
      await runCase(ctx.device, plan, spelling, headDim, h, w);
      const ownQ = ownQVariant(plan, caps.maxComputeWorkgroupStorageSize);
      await runCase(ctx.device, ownQ, spelling, headDim, h, w);
    } catch (e) {
      console.log(`ERROR head ${headDim}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  process.exit(0);
}

await main();
