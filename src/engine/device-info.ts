// What the engine reports about its GPU (Engine.adapterInfo) and how it sets the kernels later requests run under
// (Engine.setKernelPrefs, the CLI's LAB_KERNELS through LocalEngineOptions.kernels): kept apart from engine.ts, the
// request façade.
import type { Runtime } from './gpu/runtime.ts';
import { withKernelPrefs, type KernelPrefs } from './gpu/kernel-prefs.ts';
import { executionContext } from './selfcheck.ts';
import type { AdapterInfo } from './api.ts';

/** The adapter's summary, where the engine runs, the features the device enabled and its subgroup sizes. */
export function adapterInfoOf(rt: Runtime): AdapterInfo {
  const { ctx } = rt;
  const info = (ctx.adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const min = info?.subgroupMinSize, max = info?.subgroupMaxSize;
  return {
    ...ctx.summary,
    where: executionContext(),
    enabled: { shaderF16: ctx.hasF16, subgroups: ctx.hasSubgroups, timestampQuery: ctx.hasTimestamps },
    ...(min && max ? { subgroupSizes: [min, max] as [number, number] } : {}),
  };
}

/** Applies `prefs` to the runtime (throws naming shader-f16 where f16 is asked of a GPU without it); returns all of them. */
export function applyKernelPrefs(rt: Runtime, prefs: Partial<KernelPrefs>): KernelPrefs {
  rt.kernelPrefs = withKernelPrefs(rt.kernelPrefs, prefs, rt.ctx.hasF16, rt.ctx.summary.description || undefined);
  return { ...rt.kernelPrefs };
}
