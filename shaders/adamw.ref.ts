// Reference for adamw.wgsl, in float64: torch.optim.AdamW's equations (_single_tensor_adam with
// decoupled weight decay), one step, returning new arrays.
import type { AdamWHyper } from './adamw.ts';

export interface AdamWState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** One step: g_eff = g·clipCoef; p·(1 − lr·wd); m, v moments; p −= lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps). */
export function adamwRef(
  p: ArrayLike<number>,
  g: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  clipCoef: number,
  hp: AdamWHyper,
): AdamWState {
  const n = p.length;
  const out: AdamWState = { p: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  const bc1 = 1 - hp.beta1 ** hp.step;
  const bc2sqrt = Math.sqrt(1 - hp.beta2 ** hp.step);
  const stepSize = hp.lr / bc1;
  for (let i = 0; i < n; i++) {
    const gi = g[i] * clipCoef;
    const pw = p[i] * (1 - hp.lr * hp.weightDecay); // decoupled weight decay first
    const mi = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
    const vi = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
    const denom = Math.sqrt(vi) / bc2sqrt + hp.eps;
    out.p[i] = pw - stepSize * (mi / denom);
    out.m[i] = mi;
    out.v[i] = vi;
  }
  return out;
}
