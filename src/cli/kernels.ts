// LAB_KERNELS: kernel preferences for every `lab` command that runs on the GPU, e.g.
//   LAB_KERNELS=precision=f16 npm run lab -- sft ...     (mixed-precision matmuls, where the GPU has shader-f16)
// the same keys as Runtime.kernelPrefs (attention=rows|flash, matmul=vec4|tiled, precision=f32|f16); the page
// sets them through Engine.setKernelPrefs. Unknown keys or values, or f16 without shader-f16, fail naming them.
import { parseKernelPrefs, type KernelPrefs } from '../engine/gpu/kernel-prefs.ts';
import { applyKernelPrefs } from '../engine/device-info.ts';
import type { Runtime } from '../engine/gpu/runtime.ts';
import { UsageError } from './args.ts';

/** LAB_KERNELS parsed, or undefined when unset. */
export function cliKernels(env: Record<string, string | undefined> = process.env): Partial<KernelPrefs> | undefined {
  const text = env.LAB_KERNELS?.trim();
  if (!text) return undefined;
  try {
    return parseKernelPrefs(text);
  } catch (e) {
    throw new UsageError(`LAB_KERNELS: ${(e as Error).message}`);
  }
}

/** Applies LAB_KERNELS to a runtime the command created itself; returns it. */
export function withCliKernels(rt: Runtime): Runtime {
  const k = cliKernels();
  if (k) applyKernelPrefs(rt, k);
  return rt;
}
