// swiglu_backward: dgate and dup of out = silu(gate)·up (both overwritten, new tensors).
import code from './swiglu_backward.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { expectSameF32 } from './swiglu_forward.ts';

export const swigluBackwardSpec: KernelSpec = {
  name: 'swiglu_backward',
  code,
  bindings: ['uniform', 'read', 'read', 'read', 'storage', 'storage'],
};

/** Gradients for gate, up, dout [N, F] (equal shapes). Returns new f32 tensors dgate, dup [N, F]. */
export function swigluBackward(rt: Runtime, gate: Tensor, up: Tensor, dout: Tensor): { dgate: Tensor; dup: Tensor } {
  expectSameF32(gate, up, 'swiglu_backward');
  expectSameF32(gate, dout, 'swiglu_backward');
  const dgate = rt.empty(gate.shape, 'f32', 'swiglu.dgate'); // [N, F]
  const dup = rt.empty(gate.shape, 'f32', 'swiglu.dup'); // [N, F]
  rt.dispatch(swigluBackwardSpec, {
    tensors: [gate, up, dout, dgate, dup],
    uniforms: packUniforms([['u32', gate.numel], ['u32', 0], ['u32', 0], ['u32', 0]]),
    workgroups: grid1d(cdiv(gate.numel, 256)),
  });
  return { dgate, dup };
}
