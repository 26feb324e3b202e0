// swiglu_forward: out = silu(gate) · up, elementwise.
import code from './swiglu_forward.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const swigluForwardSpec: KernelSpec = { name: 'swiglu_forward', code, bindings: ['uniform', 'read', 'read', 'storage'] };

/** Throws unless a and b are f32 tensors of the same shape. */
export function expectSameF32(a: Tensor, b: Tensor, what: string): void {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new Error(`${what}: tensors must be f32, got ${a} and ${b}`);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) throw new Error(`${what}: shapes differ: ${a} vs ${b}`);
}

/** silu(gate)·up for gate, up [N, F] (any equal shapes). Returns a new f32 tensor of that shape. */
export function swigluForward(rt: Runtime, gate: Tensor, up: Tensor): Tensor {
  expectSameF32(gate, up, 'swiglu_forward');
  const out = rt.empty(gate.shape, 'f32', 'swiglu.out'); // [N, F]
  rt.dispatch(swigluForwardSpec, {
    tensors: [gate, up, out],
    uniforms: packUniforms([['u32', gate.numel], ['u32', 0], ['u32', 0], ['u32', 0]]),
    workgroups: grid1d(cdiv(gate.numel, 256)),
  });
  return out;
}
