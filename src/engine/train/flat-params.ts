// Trainable parameters packed into a few large buffers: each parameter, its gradient and its two
// AdamW moments are slices (tensor.ts slice()) of one buffer per chunk, so a step zeroes the
// gradients, takes the global norm and runs AdamW with a handful of dispatches instead of several
// per tensor (on the H200 a LoRA step of SmolLM2 spent 840 of its 3 900 dispatches, and 420 buffer
// clears, on them).
//
// Layout: parameters of one weight-decay group, in the given order, each starting at a multiple of
// 64 floats (SLICE_ALIGN bytes, what a storage binding's offset needs); a chunk ends before it
// would pass `maxChunkBytes`. The gaps stay zero in p, g, m and v, and AdamW keeps them zero
// (zero gradient, zero moments: the update is 0 / (0 + eps) = 0; decay of 0 is 0), so they add
// nothing to the norm or the update.
import type { Runtime } from '../gpu/runtime.ts';
import { SLICE_ALIGN, sliceAligned, type Tensor } from '../gpu/tensor.ts';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** AdamW weight decay applies (transformers' Trainer: not on biases and norm weights) */
  decay: boolean;
}

export interface PackedParam extends ParamSpec {
  p: Tensor;
  g: Tensor;
  m: Tensor;
  v: Tensor;
}

export interface ParamChunk {
  decay: boolean;
  /** [numel] each: the chunk's parameters, gradients and AdamW moments (zero-initialised) */
  p: Tensor;
  g: Tensor;
  m: Tensor;
  v: Tensor;
}

const ALIGN = SLICE_ALIGN / 4; // floats

export function packParams(rt: Runtime, specs: readonly ParamSpec[], maxChunkBytes?: number): { params: PackedParam[]; chunks: ParamChunk[] } {
  const cap = Math.floor((maxChunkBytes ?? Math.min(Number(rt.device.limits.maxStorageBufferBindingSize), 1 << 28)) / 4); // floats
  const params: PackedParam[] = [];
  const chunks: ParamChunk[] = [];
  for (const decay of [true, false]) {
    let pending: { spec: ParamSpec; at: number }[] = [];
    let used = 0;
    const close = () => {
      if (!pending.length) return;
      const n = Math.max(ALIGN, used);
      const mk = (what: string) => rt.zeros([n], 'f32', `${what}.chunk${chunks.length}`);
      const chunk: ParamChunk = { decay, p: mk('param'), g: mk('grad'), m: mk('adam.m'), v: mk('adam.v') };
      chunks.push(chunk);
      for (const { spec, at } of pending) {
        const sl = (t: Tensor, what: string) => t.slice(at, spec.shape, `${what}.${spec.name}`);
        params.push({ ...spec, p: sl(chunk.p, 'param'), g: sl(chunk.g, 'grad'), m: sl(chunk.m, 'adam.m'), v: sl(chunk.v, 'adam.v') });
      }
      pending = [];
      used = 0;
    };
    for (const spec of specs.filter((s) => s.decay === decay)) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (n > cap) throw new Error(`${spec.name}: ${n} values exceed one parameter chunk (${cap})`);
      if (used + n > cap) close();
      pending.push({ spec, at: used });
      used += sliceAligned(n);
    }
    close();
  }
  // back in the caller's order
  const order = new Map(specs.map((s, i) => [s.name, i]));
  params.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { params, chunks };
}
