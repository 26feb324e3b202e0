// One Runtime per test file, on Node's WebGPU (Dawn). Kernel tests use only this and the kernel's
// host function, so the same tests run on CPU Vulkan here and on the GPU machine unchanged.
// LAB_KERNELS=attention=rows,matmul=vec4 runs them under other kernel preferences (Runtime.kernelPrefs):
// the model and training tests then check the whole path through those kernels against their references.
import { Runtime } from '../gpu/runtime.ts';
import { parseKernelPrefs } from '../gpu/kernel-prefs.ts';
import { nodeGpu, releaseNodeGpu } from '../gpu/node.ts';

let rt: Promise<Runtime> | null = null;

export function testRuntime(): Promise<Runtime> {
  rt ??= nodeGpu().then(async (gpu) => {
    const r = await Runtime.create(gpu);
    r.kernelPrefs = { ...r.kernelPrefs, ...parseKernelPrefs(process.env.LAB_KERNELS ?? '') };
    return r;
  });
  return rt;
}

/** Call from `after()`: destroys the device so the process can exit. */
export async function releaseTestRuntime(): Promise<void> {
  if (!rt) return;
  (await rt).destroy();
  rt = null;
  releaseNodeGpu();
}

/**
 * Records the kernel name and the grid ([x, y, z]) of every dispatch `rt` makes from now on (tests of which kernel a
 * picker chose, and how it split the work); restore() puts the runtime's own dispatch back.
 */
export function logDispatches(rt: Runtime): { names: string[]; grids: [number, number, number][]; restore(): void } {
  const names: string[] = [];
  const grids: [number, number, number][] = [];
  const dispatch = rt.dispatch.bind(rt);
  rt.dispatch = (spec, args) => {
    names.push(spec.name);
    grids.push([args.workgroups[0], args.workgroups[1] ?? 1, args.workgroups[2] ?? 1]);
    dispatch(spec, args);
  };
  return { names, grids, restore: () => void (rt.dispatch = dispatch) };
}
