// adamw: one torch.optim.AdamW step on one parameter tensor, in place, with the gradient scaled by a
// clip coefficient that stays on the GPU (gradNormClip's output can be passed as `clip` directly).
import code from './adamw.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

export const adamwSpec: KernelSpec = { name: 'adamw', code, bindings: ['uniform', 'read', 'read', 'storage', 'storage', 'storage'] };

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count t (bias corrections 1 − β^t) */
  step: number;
}

/**
 * p, m, v ← one AdamW step (torch semantics, decoupled weight decay), in place. `clip`: null (no
 * clipping), a [1] coefficient, or the [2] [norm, coef] tensor from gradNormClip (coef is used).
 * p, g, m, v: f32 with the same element count (any shapes). Records one dispatch; no readback.
 */
export function adamwStep(rt: Runtime, p: Tensor, g: Tensor, m: Tensor, v: Tensor, clip: Tensor | null, hp: AdamWHyper): void {
  for (const [t, what] of [[p, 'p'], [g, 'g'], [m, 'm'], [v, 'v']] as const) {
    if (t.dtype !== 'f32') throw new Error(`adamw: ${what} must be f32, got ${t}`);
    if (t.numel !== p.numel) throw new Error(`adamw: ${what} ${t} differs in size from p ${p}`);
  }
  const bufs = new Set([p.buffer, g.buffer, m.buffer, v.buffer]);
  if (bufs.size !== 4) throw new Error('adamw: p, g, m and v must be four different buffers');
  if (clip && (clip.dtype !== 'f32' || (clip.numel !== 1 && clip.numel !== 2))) {
    throw new Error(`adamw: clip must be f32 [1] (coefficient) or [2] ([norm, coef] from gradNormClip), got ${clip}`);
  }
  if (clip && (clip.buffer === p.buffer || clip.buffer === m.buffer || clip.buffer === v.buffer)) throw new Error('adamw: clip must not alias p, m or v');
  const { lr, beta1, beta2, eps, weightDecay, step } = hp;
  if (!Number.isInteger(step) || step < 1) throw new Error(`adamw: step must be an integer >= 1 (1-based), got ${step}`);
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new Error(`adamw: betas must be in [0, 1), got ${beta1}, ${beta2}`);
  if (![lr, eps, weightDecay].every(Number.isFinite)) throw new Error('adamw: lr, eps and weightDecay must be finite');
  if (p.numel === 0) return;
  // scalars in float64, as Python computes them, rounded to f32 by packUniforms
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  rt.dispatch(adamwSpec, {
    tensors: [g, clip ?? g, p, m, v], // unused clip binding: g again (both read-only, so allowed)
    uniforms: packUniforms([
      ['u32', p.numel],
      ['f32', 1 - lr * weightDecay],
      ['f32', 1 - beta1],
      ['f32', beta2],
      ['f32', 1 - beta2],
      ['f32', -(lr / bc1)],
      ['f32', Math.sqrt(bc2)],
      ['f32', eps],
      ['u32', clip ? 1 : 0],
      ['u32', clip ? clip.numel - 1 : 0], // [coef] → 0, [norm, coef] → 1
      ['u32', 0],
      ['u32', 0],
    ]),
    workgroups: grid1d(cdiv(p.numel, 256)),
  });
}
