// rmsnorm_forward: y = x / sqrt(mean(x²) + eps) · w over the last dim (LlamaRMSNorm, f32 math).
import code from './rmsnorm_forward.wgsl';
import { grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { DType, Tensor } from '../src/engine/gpu/tensor.ts';

export const rmsnormForwardSpec: KernelSpec = {
  name: 'rmsnorm_forward',
  code,
  bindings: ['uniform', 'read', 'read', 'storage', 'storage'],
};

/** W_DTYPE override value: how the shader unpacks w (f32 words, or two halves per word). */
export function weightDtypeCode(dtype: DType, what: string): number {
  if (dtype === 'f32') return 0;
  if (dtype === 'f16') return 1;
  if (dtype === 'bf16') return 2;
  throw new Error(`${what}: weight dtype must be f32, f16 or bf16, got ${dtype}`);
}

/** Checks x [..., C] f32 against w [C] and returns [N, C] with N the product of the leading dims. */
export function rmsnormRows(x: Tensor, w: Tensor, what: string): [number, number] {
  if (x.dtype !== 'f32') throw new Error(`${what}: x must be f32, got ${x}`);
  if (x.shape.length < 1) throw new Error(`${what}: x must have a channel dim, got ${x}`);
  const C = x.shape[x.shape.length - 1];
  if (C < 1) throw new Error(`${what}: C must be >= 1, got ${x}`);
  if (w.shape.length !== 1 || w.shape[0] !== C) throw new Error(`${what}: w must be [${C}], got ${w}`);
  return [x.numel / C, C];
}

/**
 * RMSNorm over the last dim of x [..., C] with weight w [C] (f32, f16 or bf16).
 * Returns y (shaped like x, f32) and rstd [...] (x's leading dims, f32) for rmsnormBackward.
 * Rows of any magnitude are exact to f32 rounding: no overflow of mean(x²) (see the .wgsl header).
 */
export function rmsnormForward(rt: Runtime, x: Tensor, w: Tensor, eps: number): { y: Tensor; rstd: Tensor } {
  const [N, C] = rmsnormRows(x, w, 'rmsnorm_forward');
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`rmsnorm_forward: eps must be finite and >= 0, got ${eps}`);
  const y = rt.empty(x.shape, 'f32', 'rmsnorm.y'); // [..., C]
  const rstd = rt.empty(x.shape.slice(0, -1), 'f32', 'rmsnorm.rstd'); // [...]
  rt.dispatch(rmsnormForwardSpec, {
    tensors: [x, w, y, rstd],
    uniforms: packUniforms([['u32', N], ['u32', C], ['f32', eps], ['u32', 0]]),
    constants: { W_DTYPE: weightDtypeCode(w.dtype, 'rmsnorm_forward') },
    workgroups: grid1d(N),
  });
  return { y, rstd };
}
