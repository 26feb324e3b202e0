// grad_norm: global gradient norm and clip coefficient over a list of tensors (clip_grad_norm_),
// with no readback: the [norm, coef] tensor feeds adamwStep's `clip` argument directly.
import kernelCode from './grad_norm.wgsl';
import reduceCommonCode from './workgroup_reduce_common.wgsl';
import { cdiv, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

/** the kernel with the workgroup reductions it shares with the cross-entropy kernels prepended */
const code = `${reduceCommonCode}\n${kernelCode}`;
const bindings = ['uniform', 'read', 'storage'] as const;
export const gradNormPartialSpec: KernelSpec = { name: 'grad_norm', code, entryPoint: 'partial', bindings };
export const gradNormFinalizeSpec: KernelSpec = { name: 'grad_norm.finalize', code, entryPoint: 'finalize', bindings };

const WG = 256;
const BLOCK = 16; // as in grad_norm.wgsl
const MAX_PARTIALS_PER_TENSOR = 1024;

/** Workgroups (= partial sums) for a tensor of n elements: a function of n only, so runs repeat exactly. */
export const partialsFor = (n: number): number => Math.min(cdiv(n, WG * BLOCK), MAX_PARTIALS_PER_TENSOR);

/**
 * total_norm = sqrt(Σ over all grads of Σ g²); coef = min(maxNorm / (total_norm + 1e-6), 1), or 1 when
 * maxNorm is 0 (no clipping). Returns a new [2] f32 tensor [total_norm, coef]. NaN/Inf gradients
 * give a NaN/Inf norm (coef NaN / 0 when clipping, as torch). Gradients may have any shape.
 */
export function gradNormClip(rt: Runtime, grads: readonly Tensor[], maxNorm: number): Tensor {
  if (!(maxNorm >= 0) || !Number.isFinite(maxNorm)) throw new Error(`grad_norm: maxNorm must be finite and >= 0 (0 = no clipping), got ${maxNorm}`);
  for (const g of grads) if (g.dtype !== 'f32') throw new Error(`grad_norm: gradients must be f32, got ${g}`);
  const counts = grads.map((g) => (g.numel > 0 ? partialsFor(g.numel) : 0));
  const P = counts.reduce((a, b) => a + b, 0);
  const partials = rt.empty([Math.max(1, P)], 'f32', 'grad_norm.partials'); // [P] Σ g² per workgroup
  const out = rt.empty([2], 'f32', 'grad_norm.out'); // [2] = [total_norm, clip_coef]
  let offset = 0;
  grads.forEach((g, k) => {
    if (counts[k] === 0) return;
    rt.dispatch(gradNormPartialSpec, {
      tensors: [g, partials],
      uniforms: packUniforms([['u32', g.numel], ['u32', offset], ['f32', 0], ['u32', 0]]),
      workgroups: [counts[k]],
    });
    offset += counts[k];
  });
  rt.dispatch(gradNormFinalizeSpec, {
    tensors: [partials, out],
    uniforms: packUniforms([['u32', P], ['u32', 0], ['f32', maxNorm], ['u32', maxNorm > 0 ? 1 : 0]]),
    workgroups: [1],
  });
  partials.dispose(); // safe: the recorded dispatches keep queue order ahead of any reuse
  return out;
}
