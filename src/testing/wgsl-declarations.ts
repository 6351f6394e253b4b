/**
 * What a WGSL module declares at module scope, read from its text for the descriptor tests: struct fields with
 * their byte offsets (scalars and vectors of 4-byte components), `@group(0) @binding(i)` variables, `override`
 * constants and `@compute` entry points. Enough for our kernels; not a WGSL parser.
 */

export interface WgslField {
  readonly name: string;
  readonly type: string;
  readonly offsetBytes: number;
}

export interface WgslDeclarations {
  readonly structs: ReadonlyMap<string, readonly WgslField[]>;
  /** binding index → variable names (two names may alias one binding with different types). */
  readonly bindings: ReadonlyMap<number, readonly string[]>;
  readonly overrides: readonly string[];
  readonly entryPoints: readonly string[];
}

/** Size and alignment of the types our uniform structs use (WGSL's host-shareable layout rules). */
function sizeAlign(type: string): { size: number; align: number } {
  if (/^(u32|i32|f32)$/.test(type)) return { size: 4, align: 4 };
  const vec = /^vec([234])<(u32|i32|f32)>$/.exec(type);
  if (vec) {
    const n = Number(vec[1]);
    return { size: 4 * n, align: n === 2 ? 8 : 16 };
  }
  throw new Error(`wgsl-declarations: type ${type} is not handled`);
}

function withoutComments(code: string): string {
  return code.replace(/\/\/[^\n]*/g, '');
}

export function wgslDeclarations(source: string): WgslDeclarations {
  const code = withoutComments(source);
  const structs = new Map<string, WgslField[]>();
  for (const m of code.matchAll(/struct\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields: WgslField[] = [];
    let offset = 0;
    for (const part of (m[2] ?? '').split(',')) {
      const f = /^\s*(\w+)\s*:\s*([\w<>]+)\s*$/.exec(part);
      if (!f) continue;
      const type = f[2] ?? '';
      let layout: { size: number; align: number };
      try {
        layout = sizeAlign(type);
      } catch {
        // Structs of arrays (workgroup data) are not uniform structs: keep the name, no layout.
        fields.length = 0;
        break;
      }
      offset = Math.ceil(offset / layout.align) * layout.align;
      fields.push({ name: f[1] ?? '', type, offsetBytes: offset });
      offset += layout.size;
    }
    structs.set(m[1] ?? '', fields);
  }
  const bindings = new Map<number, string[]>();
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var(?:<[^>]*>)?\s+(\w+)/g)) {
    const i = Number(m[1]);
    bindings.set(i, [...(bindings.get(i) ?? []), m[2] ?? '']);
  }
  const overrides = [...code.matchAll(/^\s*override\s+(\w+)/gm)].map((m) => m[1] ?? '');
  const entryPoints = [...code.matchAll(/@compute\s*@workgroup_size\([^)]*\)\s*fn\s+(\w+)/g)].map((m) => m[1] ?? '');
  return { structs, bindings, overrides, entryPoints };
}
