// add_scale: out = alpha·a + beta·b, elementwise over tensors of the same shape.
import code from './add_scale.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const addScaleSpec: KernelSpec = { name: 'add_scale', code, bindings: ['uniform', 'read', 'read', 'storage'] };

/** out = alpha·a + beta·b (b may be omitted when beta is 0). Returns a new tensor shaped like `a`. */
export function addScale(rt: Runtime, a: Tensor, alpha: number, b: Tensor | null, beta: number, out?: Tensor): Tensor {
  if (a.dtype !== 'f32') throw new Error(`add_scale: a must be f32, got ${a}`);
  if (b && b.numel !== a.numel) throw new Error(`add_scale: ${a} and ${b} differ in size`);
  if (!b && beta !== 0) throw new Error('add_scale: beta != 0 needs b');
  const o = out ?? rt.empty(a.shape, 'f32', 'add_scale.out');
  if (o.numel !== a.numel) throw new Error(`add_scale: out ${o} does not match ${a}`);
  rt.dispatch(addScaleSpec, {
    tensors: [a, b ?? a, o],
    uniforms: packUniforms([['u32', a.numel], ['f32', alpha], ['f32', beta], ['u32', 0]]),
    workgroups: grid1d(cdiv(a.numel, 256)),
  });
  return o;
}

export const add = (rt: Runtime, a: Tensor, b: Tensor): Tensor => addScale(rt, a, 1, b, 1);
export const scale = (rt: Runtime, a: Tensor, s: number): Tensor => addScale(rt, a, s, null, 0);
