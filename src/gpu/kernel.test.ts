import { describe, expect, it } from 'vitest';
import { testGpuContext } from '../testing/node-gpu';
import { readBuffer, uploadBuffer } from './gpu-buffers';
import { defineKernel, dispatchSize, KernelCache, UniformStruct, variantKey } from './kernel';

describe('kernel variants', () => {
  it('keys a pipeline by name, entry point and sorted constants', () => {
    expect(variantKey('gemv', undefined, { B: 2, A: 1 })).toBe('gemv{A=1,B=2}');
    expect(variantKey('gemv', undefined, {})).toBe('gemv');
    expect(variantKey('gemv', 'reduce', { A: 1 })).toBe('gemv:reduce{A=1}');
    expect(variantKey('gemv', 'reduce', {})).toBe('gemv:reduce');
  });
  it('splits large dispatches over x and y within the limit', () => {
    expect(dispatchSize(10, 65535)).toEqual([10, 1]);
    const [x, y] = dispatchSize(200_000, 65535);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200_000);
  });
});

describe('UniformStruct', () => {
  // WGSL host-shareable layout: u32, i32 and f32 are 4 bytes with 4-byte alignment, so field i sits at 4 · i;
  // a uniform buffer binding is sized in multiples of 16 bytes.
  it('places scalars 4 bytes apart and rounds the size up to a multiple of 16', () => {
    const one = new UniformStruct('Params', { n: 'u32' });
    expect(one.layout).toEqual([{ name: 'n', type: 'u32', offsetBytes: 0 }]);
    expect(one.sizeBytes).toBe(16);
    const five = new UniformStruct('Params', { a: 'u32', b: 'f32', c: 'i32', d: 'u32', e: 'f32' });
    expect(five.layout.map((f) => [f.name, f.type, f.offsetBytes])).toEqual([
      ['a', 'u32', 0],
      ['b', 'f32', 4],
      ['c', 'i32', 8],
      ['d', 'u32', 12],
      ['e', 'f32', 16],
    ]);
    expect(five.sizeBytes).toBe(32);
    expect(new UniformStruct('Params', { a: 'u32', b: 'u32', c: 'u32', d: 'u32' }).sizeBytes).toBe(16);
    expect(new UniformStruct('Params', {}).sizeBytes).toBe(16);
  });

  it('packs values by field name (not by the order of the values object): u32 wraps, i32 two’s complement, f32 bits', () => {
    const s = new UniformStruct('Params', { count: 'u32', offset: 'i32', scale: 'f32', big: 'u32' });
    const words = s.write({ scale: 0.1, big: 2 ** 32 - 1, offset: -3, count: 7 });
    expect(words.length).toBe(4);
    expect(words[0]).toBe(7);
    expect(words[1]).toBe(0xfffffffd);
    expect(new Int32Array(words.buffer)[1]).toBe(-3);
    expect(words[2]).toBe(0x3dcccccd); // f32 0.1
    expect(new Float32Array(words.buffer)[2]).toBe(Math.fround(0.1));
    expect(words[3]).toBe(0xffffffff);
  });

  it('writes into a given array in place (a per-step buffer reused), leaving padding words alone', () => {
    const s = new UniformStruct('Params', { a: 'u32', b: 'f32', c: 'u32' });
    const words = new Uint32Array(s.sizeBytes / 4);
    expect(s.write({ a: 1, b: 1.5, c: 3 }, words)).toBe(words);
    expect(Array.from(words)).toEqual([1, 0x3fc00000, 3, 0]);
    s.write({ a: 4, b: -2, c: 5 }, words);
    expect(Array.from(words)).toEqual([4, 0xc0000000, 5, 0]);
  });
});

const AXPY_WGSL = /* wgsl */ `
struct Params {
  count: u32,
  a: f32,
  bias: i32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < params.count) {
    y[gid.x] = params.a * x[gid.x] + f32(params.bias);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn negate(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < params.count) {
    y[gid.x] = -x[gid.x];
  }
}
`;

const AXPY = defineKernel({
  name: 'test/axpy',
  code: AXPY_WGSL,
  entryPoints: ['main', 'negate'],
  constants: ['WORKGROUP_SIZE'],
  params: new UniformStruct('Params', { count: 'u32', a: 'f32', bias: 'i32' }),
  bindings: ['x', 'y'],
});

describe('KernelCache on WebGPU', () => {
  it('prepares a dispatch that binds params at 0 and the buffers by name, and reuses the pipeline', async () => {
    const { device } = await testGpuContext();
    const kernels = new KernelCache(device);
    const n = 100;
    const x = uploadBuffer(device, 'x', Float32Array.from({ length: n }, (_, i) => i));
    const y = uploadBuffer(device, 'y', new Float32Array(n).fill(1234));
    const run = async (dispatch: ReturnType<KernelCache['prepare']>): Promise<Float32Array> => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      dispatch.record(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      dispatch.destroy();
      return new Float32Array(await readBuffer(device, y, n * 4));
    };
    device.pushErrorScope('validation');
    // Buffers given out of binding order: the binding names place them.
    const axpy = kernels.prepare(AXPY, {
      constants: { WORKGROUP_SIZE: 32 },
      params: { count: n - 1, a: 2.5, bias: -3 },
      buffers: { y, x },
      workgroups: Math.ceil(n / 32),
    });
    expect(axpy.workgroups).toEqual([4, 1, 1]);
    expect(axpy.pipeline.label).toBe('test/axpy{WORKGROUP_SIZE=32}');
    const got = await run(axpy);
    for (let i = 0; i < n - 1; i++) expect(got[i]).toBe(2.5 * i - 3);
    expect(got[n - 1]).toBe(1234); // count = n − 1 came through the params
    // Same variant → the same pipeline; another entry point → another one, labelled with it.
    const again = kernels.prepare(AXPY, { constants: { WORKGROUP_SIZE: 32 }, params: { count: 1, a: 0, bias: 0 }, buffers: { x, y }, workgroups: 1 });
    expect(again.pipeline).toBe(axpy.pipeline);
    again.destroy();
    const negate = kernels.prepare(AXPY, { entryPoint: 'negate', params: { count: n, a: 0, bias: 0 }, buffers: { x, y }, workgroups: [2, 1, 1] });
    expect(negate.pipeline.label).toBe('test/axpy:negate');
    expect(kernels.size).toBe(2);
    const negated = await run(negate);
    for (let i = 0; i < n; i++) expect(negated[i]).toBe(-i);
    expect((await device.popErrorScope())?.message ?? null).toBeNull();
    expect(() => kernels.prepare(AXPY, { entryPoint: 'nope', params: { count: 1, a: 0, bias: 0 }, buffers: { x, y }, workgroups: 1 })).toThrow(/no entry point nope/);
    expect(() => kernels.prepare(AXPY, { constants: { TILE: 4 }, params: { count: 1, a: 0, bias: 0 }, buffers: { x, y }, workgroups: 1 })).toThrow(/no override constant TILE/);
    expect(() => kernels.prepare(AXPY, { buffers: { x, y }, workgroups: 1 })).toThrow(/needs params/);
    x.destroy();
    y.destroy();
  });
});
