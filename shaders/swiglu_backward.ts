// swiglu_backward: dgate and dup of out = silu(gate)·up (both overwritten, new tensors).
import body from './swiglu_backward.wgsl';
import halves from './swiglu_halves.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { expectSameF32, fusedHalf } from './swiglu_forward.ts';

export const swigluBackwardSpec: KernelSpec = {
  name: 'swiglu_backward',
  code: halves + body, // the shared index helper first (WGSL has no include)
  bindings: ['uniform', 'read', 'read', 'read', 'storage', 'storage'],
};

/** Gradients for gate, up, dout [N, F] (equal shapes). Returns new f32 tensors dgate, dup [N, F]. */
export function swigluBackward(rt: Runtime, gate: Tensor, up: Tensor, dout: Tensor): { dgate: Tensor; dup: Tensor } {
  expectSameF32(gate, up, 'swiglu_backward');
  expectSameF32(gate, dout, 'swiglu_backward');
  const dgate = rt.empty(gate.shape, 'f32', 'swiglu.dgate'); // [N, F]
  const dup = rt.empty(gate.shape, 'f32', 'swiglu.dup'); // [N, F]
  run(rt, [gate, up, dout, dgate, dup], dout.numel, 0);
  return { dgate, dup };
}

/**
 * The fused form: gu [N, 2F] = gate | up side by side, dout [N, F] → dgu [N, 2F] = dgate | dup side by side (new), the
 * gradient of the one gate|up product.
 */
export function swigluBackwardFused(rt: Runtime, gu: Tensor, dout: Tensor): Tensor {
  const F = fusedHalf(gu, 'swiglu_backward');
  if (dout.dtype !== 'f32' || dout.numel !== gu.numel / 2 || dout.shape[dout.shape.length - 1] !== F) throw new Error(`swiglu_backward: dout ${dout} must be f32 [N, ${F}] for gu ${gu}`);
  const dgu = rt.empty(gu.shape, 'f32', 'swiglu.dgu'); // [N, 2F]
  const spare = rt.empty([4], 'f32', 'swiglu.no_dup'); // bound at dup, unused (dgu takes both halves through dgate)
  run(rt, [gu, gu, dout, dgu, spare], dout.numel, F);
  spare.dispose(); // recorded dispatches keep it alive in queue order
  return dgu;
}

function run(rt: Runtime, tensors: Tensor[], n: number, F: number): void {
  rt.dispatch(swigluBackwardSpec, {
    tensors,
    uniforms: packUniforms([['u32', n], ['u32', F], ['u32', 0], ['u32', 0]]),
    workgroups: grid1d(cdiv(n, 256)),
  });
}
