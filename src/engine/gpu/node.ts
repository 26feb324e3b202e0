// Node only: the `GPU` object from the `webgpu` package (Dawn). Never imported by browser code.
// Dawn keeps the process alive while the GPU object lives: call releaseNodeGpu() when done.
// LAB_DAWN_FLAGS (space-separated) adds Dawn's flags, for measurements on the GPU machine: e.g.
// `enable-dawn-features=disable_robustness` times the kernels without Tint's index clamps (a browser never runs so).

let instance: GPU | null = null;

export async function nodeGpu(flags: string[] = []): Promise<GPU> {
  if (instance) return instance;
  const mod = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: object };
  // GPUBufferUsage, GPUMapMode, GPUValidationError... are globals in a browser; make them so here.
  Object.assign(globalThis, mod.globals);
  const extra = (process.env.LAB_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  instance = mod.create([...flags, ...extra]);
  return instance;
}

export function releaseNodeGpu(): void {
  instance = null;
}
