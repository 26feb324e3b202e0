// swiglu_forward: out = silu(gate) · up, elementwise; gate and up apart, or as the column halves of one product's rows.
import body from './swiglu_forward.wgsl';
import halves from './swiglu_halves.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const swigluForwardSpec: KernelSpec = { name: 'swiglu_forward', code: halves + body, bindings: ['uniform', 'read', 'read', 'storage'] };

/** Throws unless a and b are f32 tensors of the same shape. */
export function expectSameF32(a: Tensor, b: Tensor, what: string): void {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new Error(`${what}: tensors must be f32, got ${a} and ${b}`);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) throw new Error(`${what}: shapes differ: ${a} vs ${b}`);
}

/** silu(gate)·up for gate, up [N, F] (any equal shapes). Returns a new f32 tensor of that shape. */
export function swigluForward(rt: Runtime, gate: Tensor, up: Tensor): Tensor {
  expectSameF32(gate, up, 'swiglu_forward');
  return run(rt, gate, up, rt.empty(gate.shape, 'f32', 'swiglu.out'), 0); // [N, F]
}

/** silu(gate)·up for gu [N, 2F] = gate | up side by side (one product of x and [Wgate; Wup]). Returns a new [N, F]. */
export function swigluForwardFused(rt: Runtime, gu: Tensor): Tensor {
  const F = fusedHalf(gu, 'swiglu_forward');
  return run(rt, gu, gu, rt.empty([gu.shape[0], F], 'f32', 'swiglu.out'), F); // [N, F]
}

/** F of gu [N, 2F] (f32, 2-D, even width); throws naming the tensor otherwise. */
export function fusedHalf(gu: Tensor, what: string): number {
  if (gu.dtype !== 'f32' || gu.shape.length !== 2 || gu.shape[1] % 2 !== 0 || gu.shape[1] === 0) throw new Error(`${what}: the fused gate|up rows must be f32 [N, 2F], got ${gu}`);
  return gu.shape[1] / 2;
}

function run(rt: Runtime, gate: Tensor, up: Tensor, out: Tensor, F: number): Tensor {
  rt.dispatch(swigluForwardSpec, {
    tensors: [gate, up, out],
    uniforms: packUniforms([['u32', out.numel], ['u32', F], ['u32', 0], ['u32', 0]]),
    workgroups: grid1d(cdiv(out.numel, 256)),
  });
  return out;
}
