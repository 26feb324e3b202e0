// unpack_half: an f16 or bf16 tensor (two halves per u32 on the GPU) → an f32 tensor of the same shape.
import code from './unpack_half.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const unpackHalfSpec: KernelSpec = { name: 'unpack_half', code, bindings: ['uniform', 'read', 'storage'] };

/** f32 copy of a half-precision tensor: [...shape] f16|bf16 → [...shape] f32 (a new tensor). */
export function unpackHalf(rt: Runtime, t: Tensor): Tensor {
  if (t.dtype !== 'f16' && t.dtype !== 'bf16') throw new Error(`unpack_half: expected an f16 or bf16 tensor, got ${t}`);
  const out = rt.empty(t.shape, 'f32', 'unpack_half.out'); // [...shape]
  const words = cdiv(t.numel, 2); // one invocation per u32 word
  rt.dispatch(unpackHalfSpec, {
    tensors: [t, out],
    uniforms: packUniforms([['u32', t.numel], ['u32', t.dtype === 'f16' ? 1 : 2], ['u32', 0], ['u32', 0]]),
    workgroups: grid1d(cdiv(words, 256)),
  });
  return out;
}
