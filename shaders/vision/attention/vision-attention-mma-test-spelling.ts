/**
 * Test-only: a software spelling of the subgroup-matrix operations for vision-attention-mma-wgsl.ts, so the
 * generated kernel (staging, RoPE, masks, online softmax, lazy rescale, rounds, output) runs on adapters without
 * subgroup matrices (lavapipe, with shader-f16 and subgroups). Every invocation holds a whole fragment in private
 * memory: a load reads all of it from workgroup memory, the multiply-accumulate is a plain triple loop (f16 products
 * summed in f32, as the hardware does), a store writes all of it (every lane the same values). It checks the
 * kernel's algorithm and layouts as the WGSL proposal defines them (row-major: element (r, c) at offset + r·stride + c;
 * column-major: offset + c·stride + r), not the hardware's fragments.
 */
import type { MatrixKind, MatrixSpelling } from './vision-attention-mma-wgsl';

const TYPES: Readonly<Record<MatrixKind, string>> = { left: 'EmuLeft', right: 'EmuRight', result: 'EmuResult' };

export const EMULATED_MATRIX_SPELLING: MatrixSpelling = {
  header: 'enable f16;\nenable subgroups;',
  type: (kind) => TYPES[kind],
  load: (kind, _type, array, offset, layout, stride) => `emu_load_${kind}_${array}(${offset}, ${stride}, ${layout === 'col_major'})`,
  store: (array, offset, value, stride) => `emu_store_${array}(${offset}, ${value}, ${stride})`,
  mma: 'emu_mma',
  declarations(M, N, K, loads, stores) {
    // Rows × columns of each kind, and its element type.
    const dims: Readonly<Record<MatrixKind, readonly [number, number, string]>> = { left: [M, K, 'f16'], right: [K, N, 'f16'], result: [M, N, 'f32'] };
    const structs = (Object.keys(TYPES) as MatrixKind[]).map((kind) => {
      const [r, c, t] = dims[kind];
      return `struct ${TYPES[kind]} {\n  e: array<${t}, ${r * c}>,\n}`;
    });
    const loaders = loads.map(([kind, array]) => {
      const [r, c, t] = dims[kind];
      return `fn emu_load_${kind}_${array}(offset: u32, stride: u32, col: bool) -> ${TYPES[kind]} {
  var m: ${TYPES[kind]};
  for (var i = 0u; i < ${r}u; i++) {
    for (var j = 0u; j < ${c}u; j++) {
      m.e[i * ${c}u + j] = ${t}(${array}[select(offset + i * stride + j, offset + j * stride + i, col)]);
    }
  }
  return m;
}`;
    });
    const storers = stores.map(
      (array) => `fn emu_store_${array}(offset: u32, m: EmuResult, stride: u32) {
  for (var i = 0u; i < ${M}u; i++) {
    for (var j = 0u; j < ${N}u; j++) {
      ${array}[offset + i * stride + j] = m.e[i * ${N}u + j];
    }
  }
}`,
    );
    const mma = `fn emu_mma(a: EmuLeft, b: EmuRight, c: EmuResult) -> EmuResult {
  var r = c;
  for (var i = 0u; i < ${M}u; i++) {
    for (var j = 0u; j < ${N}u; j++) {
      var acc = r.e[i * ${N}u + j];
      for (var k = 0u; k < ${K}u; k++) {
        acc += f32(a.e[i * ${K}u + k]) * f32(b.e[k * ${N}u + j]);
      }
      r.e[i * ${N}u + j] = acc;
    }
  }
  return r;
}`;
    return ['', ...structs, ...loaders, ...storers, mma].join('\n\n');
  },
};
