// argmax over the last dimension: [..., V] f32 → [...] i32 (greedy decoding on the GPU).
import code from './argmax.wgsl';
import { packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const argmaxSpec: KernelSpec = { name: 'argmax', code, bindings: ['uniform', 'read', 'storage'] };

/** Index of the largest value of each row of x [..., V] (first on ties, NaN skipped) → i32 [...]. */
export function argmax(rt: Runtime, x: Tensor, out?: Tensor): Tensor {
  if (x.dtype !== 'f32' || x.shape.length < 1) throw new Error(`argmax: expected f32 [..., V], got ${x}`);
  const V = x.shape[x.shape.length - 1];
  const rows = x.numel / (V || 1);
  if (V === 0) throw new Error(`argmax: empty rows in ${x}`);
  if (rows > 65535) throw new Error(`argmax: ${rows} rows exceed one dispatch dimension`);
  const o = out ?? rt.empty(x.shape.slice(0, -1), 'i32', 'argmax.out');
  if (o.dtype !== 'i32' || o.numel !== rows) throw new Error(`argmax: out ${o} must be i32 with ${rows} values`);
  rt.dispatch(argmaxSpec, { tensors: [x, o], uniforms: packUniforms([['u32', V], ['u32', rows], ['u32', 0], ['u32', 0]]), workgroups: [rows] });
  return o;
}
