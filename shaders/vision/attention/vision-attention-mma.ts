/**
 * Vision-tower self-attention on subgroup matrices (tensor cores): the same call as encodeVisionAttention (buffers,
 * shape, storage, results within f16 rounding), one generated kernel per (storage, plan, builtin spelling). The plan
 * comes from chooseVisionAttentionMma; without one the caller runs the plain kernel (vision-tower.ts decides).
 */
import { defineKernel, type KernelCache, type KernelDispatch, UniformStruct } from '../../../src/gpu/kernel';
import { SarashinaError } from '../../../src/protocol/errors';
import f16IoWgsl from './io-f16.wgsl?raw';
import f32IoWgsl from './io-f32.wgsl?raw';
import {
  checkVisionAttentionCall,
  visionAttentionTiles,
  type VisionAttentionBuffers,
  type VisionAttentionShape,
  type VisionAttentionStorage,
} from './vision-attention';
import type { VisionAttentionMmaPlan } from './vision-attention-mma-plan';
import { type MatrixSpelling, SUBGROUP_MATRIX_SPELLINGS, type SubgroupMatrixSyntax, visionAttentionMmaWgsl } from './vision-attention-mma-wgsl';

const PARAMS = new UniformStruct('Params', { heads: 'u32', head_dim: 'u32', images: 'u32', total_tiles: 'u32' });
const BINDINGS = ['qkv', 'cos_tab', 'sin_tab', 'cu_seqlens', 'out'] as const;

const define = (name: string, code: string) => defineKernel({ name, code, params: PARAMS, bindings: BINDINGS });
type MmaKernel = ReturnType<typeof define>;

const variants = new Map<string, MmaKernel>();

/** The descriptor of one variant (made once per storage, plan and spelling; the KernelCache compiles it once). */
export function visionAttentionMmaKernel(storage: VisionAttentionStorage, plan: VisionAttentionMmaPlan, syntax: SubgroupMatrixSyntax | NamedMatrixSpelling = 'template'): MmaKernel {
  const spelling = typeof syntax === 'string' ? { name: syntax, spelling: SUBGROUP_MATRIX_SPELLINGS[syntax] } : syntax;
  const name = `vision-attention-mma/${storage}/m${plan.M}n${plan.N}k${plan.K}/sg${plan.subgroupSize}x${plan.subgroups}/keys${plan.keys}/d${plan.paddedHeadDim}/r${plan.rescaleLog2 ?? 'default'}${plan.ownQ ? '/own-q' : ''}/${spelling.name}`;
  let kernel = variants.get(name);
  if (!kernel) {
    const { header, body } = visionAttentionMmaWgsl(plan, spelling.spelling);
    kernel = define(name, `${header}\n${storage === 'f16' ? f16IoWgsl : f32IoWgsl}\n${body}`);
    variants.set(name, kernel);
  }
  return kernel;
}

/** A spelling other than the builtins' (tests: a software one), named for the descriptor and pipeline labels. */
export interface NamedMatrixSpelling {
  readonly name: string;
  readonly spelling: MatrixSpelling;
}

export interface VisionAttentionMmaOptions {
  /** From chooseVisionAttentionMma for this head size on this device. */
  readonly plan: VisionAttentionMmaPlan;
  /** Element type of qkv and out; default 'f32'. */
  readonly storage?: VisionAttentionStorage;
  /** Builtin spelling; default 'template' (the Dawn the engine ships with). */
  readonly syntax?: SubgroupMatrixSyntax | NamedMatrixSpelling;
}

/**
 * Records vision attention on subgroup matrices into `pass` and returns the dispatch (destroy it after submission).
 * Same buffers, shape and results as encodeVisionAttention, with q, rope(k), v and the softmax weights rounded to f16
 * (products accumulate in f32). The device must have been created with the features the plan was chosen from.
 * Throws `invalid-model` for a head size the plan does not serve and `internal` for inconsistent shapes/buffers.
 */
export function encodeVisionAttentionMma(
  kernels: KernelCache,
  pass: GPUComputePassEncoder,
  buffers: VisionAttentionBuffers,
  shape: VisionAttentionShape,
  options: VisionAttentionMmaOptions,
): KernelDispatch {
  const { plan } = options;
  const storage = options.storage ?? 'f32';
  checkVisionAttentionCall(buffers, shape, storage, plan.paddedHeadDim);
  const step = Math.max(plan.N, plan.K);
  if (shape.headDim <= plan.paddedHeadDim - step) {
    throw new SarashinaError('internal', `vision-attention-mma: the plan pads heads to ${plan.paddedHeadDim} but the head size is ${shape.headDim}. Choose the plan for this head size.`, {
      headDim: shape.headDim,
      paddedHeadDim: plan.paddedHeadDim,
    });
  }
  const totalTiles = visionAttentionTiles(shape.cuSeqlens, plan.rows);
  return kernels.record(pass, visionAttentionMmaKernel(storage, plan, options.syntax), {
    params: { heads: shape.heads, head_dim: shape.headDim, images: shape.cuSeqlens.length - 1, total_tiles: totalTiles },
    buffers: { qkv: buffers.qkv, cos_tab: buffers.cos, sin_tab: buffers.sin, cu_seqlens: buffers.cuSeqlens, out: buffers.out },
    workgroups: totalTiles * shape.heads,
  });
}
