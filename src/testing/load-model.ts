/** Loads a package as createEngine would (manifest → plan → model), with the plan's and the load's options in one object. */
import type { GpuContext } from '../gpu/gpu-context';
import { type PackagePlanOptions, planPackage } from '../model/package-plan';
import { SarashinaModel, type SarashinaModelOptions } from '../model/sarashina-model';
import { type PackageSource, readManifest } from '../protocol/package-source';

export async function loadModel(ctx: GpuContext, source: PackageSource, options: PackagePlanOptions & SarashinaModelOptions = {}): Promise<SarashinaModel> {
  const plan = planPackage(await readManifest(source), ctx.capabilities, options);
  return SarashinaModel.load(ctx, source, plan, options);
}
