// softmax_forward: softmax over the last dim of a tensor of any shape (rows of any length).
import code from './softmax_forward.wgsl';
import { grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const softmaxForwardSpec: KernelSpec = { name: 'softmax_forward', code, bindings: ['uniform', 'read', 'storage'] };

/**
 * softmax(x) over the last dim; x is [..., n] f32 with n >= 1. One workgroup per row.
 * Returns a new tensor shaped like x (or writes `out`, which must not alias x).
 */
export function softmax(rt: Runtime, x: Tensor, out?: Tensor): Tensor {
  if (x.dtype !== 'f32') throw new Error(`softmax: x must be f32, got ${x}`);
  if (x.shape.length === 0) throw new Error(`softmax: x must have at least one dim, got ${x}`);
  const n = x.shape[x.shape.length - 1];
  if (n < 1) throw new Error(`softmax: the last dim of ${x} is empty`);
  const rows = x.numel / n;
  const o = out ?? rt.empty(x.shape, 'f32', 'softmax.out'); // [..., n]
  if (o.numel !== x.numel || o.dtype !== 'f32') throw new Error(`softmax: out ${o} does not match ${x}`);
  if (o.buffer === x.buffer) throw new Error('softmax: out must not alias x');
  rt.dispatch(softmaxForwardSpec, {
    tensors: [x, o],
    uniforms: packUniforms([['u32', rows], ['u32', n]]),
    workgroups: grid1d(rows),
  });
  return o;
}
