// Node only: onnxruntime-web's WebGPU execution provider on the `webgpu` package (Dawn), so the
// lab's engine and ORT's WebGPU backend can be timed in one process on the same GPU and the same
// WebGPU implementation, e.g. on the GPU machine, which has no Chromium. Never imported by browser code.
//
// Two adaptations, both outside ORT:
//  - navigator.gpu: ORT looks for the GPU there; Node has no navigator.gpu.
//  - GPUQueue.writeBuffer with a view on a SharedArrayBuffer: ORT's wasm memory is shared (threaded
//    build) and it uploads straight from it; Dawn-node rejects shared views ("Invalid argument"), so
//    those are copied to a plain buffer first. Other calls pass through untouched.
import type * as Ort from 'onnxruntime-web';
import { nodeGpu } from '../engine/gpu/node.ts';

let ortPromise: Promise<typeof Ort> | null = null;

function patchWriteBuffer(): void {
  const QP = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue & { __labShared?: boolean } } }).GPUQueue.prototype;
  if (QP.__labShared) return;
  const original = QP.writeBuffer;
  QP.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset?: number, size?: number) {
    if (ArrayBuffer.isView(data) && typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer) {
      const el = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1; // offsets count elements
      const n = size ?? data.byteLength / el - (dataOffset ?? 0);
      const copy = new Uint8Array(n * el);
      copy.set(new Uint8Array(data.buffer, data.byteOffset + (dataOffset ?? 0) * el, n * el));
      return original.call(this, buffer, offset, copy, 0, n * el);
    }
    return original.call(this, buffer, offset, data, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  QP.__labShared = true;
}

/** onnxruntime-web's WebGPU build, set up for Node on Dawn; wasm files from the package's dist/. */
export function loadOrtWebGpuNode(distDir?: string): Promise<typeof Ort> {
  ortPromise ??= (async () => {
    const gpu = await nodeGpu();
    patchWriteBuffer();
    const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true, writable: true });
    else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    const { createRequire } = await import('node:module');
    const { pathToFileURL } = await import('node:url');
    const { dirname, join } = await import('node:path');
    const dist = distDir ?? dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
    const ort = (await import(/* @vite-ignore */ pathToFileURL(join(dist, 'ort.webgpu.min.mjs')).href)) as typeof Ort;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = pathToFileURL(dist + '/').href;
    ort.env.logLevel = 'error';
    return ort;
  })();
  return ortPromise;
}
