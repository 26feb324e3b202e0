// One Runtime per test file, on Node's WebGPU (Dawn). Kernel tests use only this and the kernel's
// host function, so the same tests run on CPU Vulkan here and on the GPU machine unchanged.
import { Runtime } from '../gpu/runtime.ts';
import { nodeGpu, releaseNodeGpu } from '../gpu/node.ts';

let rt: Promise<Runtime> | null = null;

export function testRuntime(): Promise<Runtime> {
  rt ??= nodeGpu().then((gpu) => Runtime.create(gpu));
  return rt;
}

/** Call from `after()`: destroys the device so the process can exit. */
export async function releaseTestRuntime(): Promise<void> {
  if (!rt) return;
  (await rt).destroy();
  rt = null;
  releaseNodeGpu();
}
