// Node only: the `GPU` object from the `webgpu` package (Dawn). Never imported by browser code.
// Dawn keeps the process alive while the GPU object lives: call releaseNodeGpu() when done.

let instance: GPU | null = null;

export async function nodeGpu(flags: string[] = []): Promise<GPU> {
  if (instance) return instance;
  const mod = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: object };
  // GPUBufferUsage, GPUMapMode, GPUValidationError... are globals in a browser; make them so here.
  Object.assign(globalThis, mod.globals);
  instance = mod.create(flags);
  return instance;
}

export function releaseNodeGpu(): void {
  instance = null;
}
