// Reference for grad_norm.wgsl, in float64: torch.nn.utils.clip_grad_norm_'s total norm and coefficient.
//   total_norm = sqrt(Σ_tensors Σ_i g_i²); coef = min(maxNorm / (total_norm + 1e-6), 1); coef = 1 if maxNorm == 0.
// NaN stays NaN through min (as torch.clamp), Inf norm gives coef 0.

export function gradNormClipRef(grads: readonly ArrayLike<number>[], maxNorm: number): [number, number] {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  const norm = Math.sqrt(ss);
  if (maxNorm === 0) return [norm, 1];
  const c = maxNorm / (norm + 1e-6);
  return [norm, Number.isNaN(c) ? NaN : Math.min(c, 1)];
}
